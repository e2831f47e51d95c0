using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Virtuoso.Cli;

/// <summary>
/// Options that validate their values at the command line (the boundary), so that a bad number is a one-line
/// usage error before anything is sent: sizes are whole numbers above zero, money is dollars at or above zero.
/// </summary>
internal static class Opt
{
    public static Option<string?> Text(string name, string description, string helpName, bool required = false)
    {
        var option = new Option<string?>(name) { Description = description, HelpName = helpName, Required = required, Arity = ArgumentArity.ExactlyOne };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && string.IsNullOrWhiteSpace(result.Tokens[0].Value))
            {
                result.AddError($"{name} must not be empty");
            }
        });
        return option;
    }

    /// <summary>A whole number above zero: sizes, speeds, chunk units, periods.</summary>
    public static Option<long?> Whole(string name, string description, string helpName, bool required = false) =>
        new(name)
        {
            Description = description, HelpName = helpName, Required = required, Arity = ArgumentArity.ExactlyOne,
            CustomParser = result => Parse<long>(result, name, "a whole number above 0", text =>
                long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : null),
        };

    /// <summary>Dollars at or above zero, written with '.' and no exponent: 0.3744, 30.</summary>
    public static Option<decimal?> Dollars(string name, string description, bool required = false) =>
        new(name)
        {
            Description = description, HelpName = "DOLLARS", Required = required, Arity = ArgumentArity.ExactlyOne,
            CustomParser = result => Parse<decimal>(result, name, "an amount of dollars of 0 or more, such as 0.3744", text =>
                decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) ? value : null),
        };

    /// <summary>Hours a month a machine runs (issue 18): 0 to 744, written with '.' and no exponent: 5, 12.5, 730.</summary>
    public static Option<decimal?> Hours(string name, string description) =>
        new(name)
        {
            Description = description, HelpName = "HOURS", Arity = ArgumentArity.ExactlyOne,
            CustomParser = result => Parse<decimal>(result, name, "hours a month from 0 to 744, such as 730", text =>
                decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value <= 744 ? value : null),
        };

    public static Option<int?> Port(string name, string description, bool required = false) =>
        new(name)
        {
            Description = description, HelpName = "PORT", Required = required, Arity = ArgumentArity.ExactlyOne,
            CustomParser = result => Parse<int>(result, name, "a TCP port from 1 to 65535", text =>
                int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= 65535 ? value : null),
        };

    private static T? Parse<T>(ArgumentResult result, string name, string expected, Func<string, T?> parse) where T : struct
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        var value = parse(text.Trim());
        if (value is null)
        {
            result.AddError($"{name} must be {expected}, not '{text}'");
        }

        return value;
    }

    /// <summary>Whether any of <paramref name="options"/> was given on the command line.</summary>
    public static bool AnyGiven(ParseResult parse, params Option[] options) => options.Any(option => parse.GetResult(option) is not null);
}

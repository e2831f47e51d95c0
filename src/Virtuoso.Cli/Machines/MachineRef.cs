using Virtuoso.Cli.Http;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Machines;

/// <summary>
/// What a human may type for a machine: its full id, a unique prefix of the id (at least
/// <see cref="MinPrefix"/> hex digits), or its name when no other of the user's machines has it.
/// </summary>
internal static class MachineRef
{
    public const int MinPrefix = 8;

    public static async Task<Result<Guid>> ResolveAsync(ApiClient api, string reference, CancellationToken cancellationToken)
    {
        if (Guid.TryParse(reference, out var id))
        {
            return id; // Spares a round trip; the server says whether it exists.
        }

        return (await api.GetAsync<MachineResponse[]>("machines", cancellationToken)).Failed(out var failure, out var machines)
            ? failure
            : Pick(machines, reference);
    }

    /// <summary>The one machine <paramref name="reference"/> designates among <paramref name="machines"/>, or why none.</summary>
    public static Result<Guid> Pick(IReadOnlyList<MachineResponse> machines, string reference)
    {
        var digits = reference.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant();
        var isPrefix = digits.Length >= MinPrefix && digits.All(char.IsAsciiHexDigit);
        var candidates = machines
            .Where(m => m.Name == reference || (isPrefix && m.Id.ToString("N").StartsWith(digits, StringComparison.Ordinal)))
            .DistinctBy(m => m.Id)
            .ToList();

        return candidates switch
        {
            [var only] => only.Id,
            [] => new Failure(ExitCode.Refused,
                $"no machine of yours is named '{reference}' or has an id starting with it"
                + (digits.Length < MinPrefix && digits.All(char.IsAsciiHexDigit) ? $" (an id prefix needs at least {MinPrefix} hex digits)" : ""),
                ErrorCodes.NotFound),
            _ => new Failure(ExitCode.Usage,
                $"'{reference}' could mean {string.Join(", ", candidates.Select(m => $"{m.Name} ({m.Id})"))}; give more of the id",
                Failure.AmbiguousCode),
        };
    }

    /// <summary>A short label for messages: "web-1 (3f2a1b4c)".</summary>
    public static string Label(MachineResponse machine) => $"{machine.Name} ({Text.ShortId(machine.Id)})";
}

using System.CommandLine;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Accounts;

/// <summary>
/// The account's API keys (issue 20 point 2): list, make (the key is printed once), revoke. Making and revoking need a
/// password log-in; a script then uses the key through <c>VIRTUOSO_API_KEY</c> or an <c>Authorization: Bearer</c> header.
/// </summary>
internal static class TokenCommands
{
    public static IEnumerable<Command> Build(Runner run)
    {
        var command = new Command("tokens", "List your API keys (name, scope, made, expires, last used; never the key); make or revoke one")
        {
            Create(run), Revoke(run),
        };
        run.Bind(command, Access.LoggedIn, async (_, session, ct) =>
            (await session.Api.GetAsync<ApiKeyResponse[]>("tokens", ct)).Failed(out var failure, out var keys)
                ? failure
                : session.Show(keys, List));
        yield return command;
    }

    private static Command Create(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "A name for the key, such as ci or terraform: one per script, so each can be revoked alone" };
        var scope = new Option<string>("--scope")
        {
            Description = "read: GET only, it can change nothing; write: anything you can do, except manage keys",
            HelpName = "read|write", Required = true,
        };
        scope.Validators.Add(result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (text is not ("read" or "write"))
            {
                result.AddError($"--scope must be read or write, not '{text}'");
            }
        });
        var expires = Opt.Text("--expires", "How long it lives: 12h, 30d, 365d (1 hour to 365 days), or never (the default)", "DURATION");
        var command = new Command("create", "Make an API key for automation; it is printed this once") { name, scope, expires };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var request = new CreateApiKeyRequest(parse.GetValue(name)!, parse.GetValue(scope)!, parse.GetValue(expires));
            return (await session.Api.SendAsync<NewApiKeyResponse>(HttpMethod.Post, "tokens", request, ct)).Failed(out var failure, out var key)
                ? failure
                : session.Show(key, (output, k) => Made(output, k, session.ServerText));
        });
        return command;
    }

    private static Command Revoke(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "One of your API keys" };
        var command = new Command("revoke", "Revoke one of your API keys: calls with it are refused from now on") { name };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var key = parse.GetValue(name)!;
            return (await session.Api.SendForAnyAsync(HttpMethod.Delete, $"tokens/{Uri.EscapeDataString(key)}", null, ct)).Failed(out var failure, out _)
                ? failure
                : session.Show(new { }, (output, _) => output.WriteLine($"Revoked API key {key}: calls with it are refused from now on."));
        });
        return command;
    }

    private static void Made(TextWriter output, NewApiKeyResponse k, string server)
    {
        output.WriteLine($"Made API key {k.Name} ({k.Scope}, {(k.ExpiresAt is { } e ? "expires " + Text.Time(e) : "never expires")}).");
        output.WriteLine("Copy it now: it is not shown again (only its hash is kept).");
        output.WriteLine();
        output.WriteLine($"  {k.Key}");
        output.WriteLine();
        output.WriteLine("Use it:");
        output.WriteLine($"  export VIRTUOSO_API_KEY={k.Key}   # then: virtuoso machines --server {server}");
        output.WriteLine($"  curl -H \"Authorization: Bearer {k.Key}\" {server}/api/v1/account");
    }

    private static void List(TextWriter output, ApiKeyResponse[] keys)
    {
        if (keys.Length == 0)
        {
            output.WriteLine("No API keys yet. Make one with: virtuoso tokens create NAME --scope read --expires 30d");
            return;
        }

        var table = new Table("NAME", "SCOPE", "MADE", "EXPIRES", "LAST USED");
        foreach (var k in keys)
        {
            table.Add(k.Name, k.Scope, Text.Time(k.CreatedAt),
                k.ExpiresAt is { } e ? (k.Expired ? "expired " : "") + Text.Time(e) : "never",
                k.LastUsedAt is { } used ? Text.Time(used) : "never");
        }

        table.WriteTo(output);
    }
}

using System.CommandLine;
using Virtuoso.Cli.Output;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Accounts;

/// <summary>Signing up, logging in and out, and the account page.</summary>
internal static class AccountCommands
{
    private const int MinPasswordLength = 8; // design §3

    public static IEnumerable<Command> Build(Runner run)
    {
        yield return Signup(run);
        yield return Login(run);
        yield return Logout(run);
        yield return Account(run);
    }

    private static Command Signup(Runner run)
    {
        var user = new Argument<string>("USER") { Description = "Username" };
        var password = Opt.Text("--password", $"Password, at least {MinPasswordLength} characters", "PASSWORD", required: true);
        var email = Opt.Text("--email", "E-mail address", "EMAIL", required: true);
        var buyer = new Option<bool>("--buyer") { Description = "A buyer's account: rents machines" };
        var provider = new Option<bool>("--provider") { Description = "A provider's account: sells hosts" };
        var command = new Command("signup", "Create an account (--buyer or --provider)") { user, password, email, buyer, provider };
        run.Bind(command, Access.Anonymous, async (parse, session, ct) =>
        {
            if (parse.GetValue(buyer) == parse.GetValue(provider))
            {
                return Failure.Usage("give exactly one of --buyer or --provider");
            }

            if (parse.GetValue(password)!.Length < MinPasswordLength)
            {
                return Failure.Usage($"--password must have at least {MinPasswordLength} characters");
            }

            var username = parse.GetValue(user)!;
            var type = parse.GetValue(buyer) ? "buyer" : "provider";
            var request = new SignupRequest(username, parse.GetValue(password)!, parse.GetValue(email)!, type);
            return (await session.Api.SendForAnyAsync(HttpMethod.Post, "accounts", request, ct)).Failed(out var failure, out var answer)
                ? failure
                : session.Show(answer, (output, _) =>
                    output.WriteLine($"Created {type} account {username}. Log in with: virtuoso login {username} --password PASSWORD"));
        });
        return command;
    }

    private static Command Login(Runner run)
    {
        var user = new Argument<string>("USER") { Description = "Username" };
        var password = Opt.Text("--password", "Password", "PASSWORD", required: true);
        var command = new Command("login", "Log in and keep the session token in $VIRTUOSO_HOME/credentials.json") { user, password };
        run.Bind(command, Access.Anonymous, async (parse, session, ct) =>
        {
            var request = new LoginRequest(parse.GetValue(user)!, parse.GetValue(password)!);
            if ((await session.Api.SendAsync<SessionResponse>(HttpMethod.Post, "sessions", request, ct)).Failed(out var failure, out var answer))
            {
                return failure;
            }

            return session.Credentials.Save(new Credentials(session.ServerText, answer.Username, answer.Type, answer.Token))
                ?? session.Show(answer, (output, value) =>
                    output.WriteLine($"Logged in to {session.ServerText} as {value.Username} ({value.Type})."));
        });
        return command;
    }

    private static Command Logout(Runner run)
    {
        var command = new Command("logout", "End the session on the server and forget its token");
        run.Bind(command, Access.Optional, async (_, session, ct) =>
        {
            if (session.Credentials.Load().Failed(out var unreadable, out var stored))
            {
                return unreadable;
            }

            if (session.Settings.ApiKey is not null)
            {
                return Failure.Usage("VIRTUOSO_API_KEY is set, and an API key is not logged out: unset it to log out the stored login, or revoke the key with: virtuoso tokens revoke NAME");
            }

            if (stored is null)
            {
                return session.Show(new { }, (output, _) => output.WriteLine("Not logged in."));
            }

            if (session.Login is null)
            {
                return new Failure(ExitCode.Refused,
                    $"logged in to {stored.Server}, not to {session.ServerText}; log out with: virtuoso logout --server {stored.Server}",
                    ErrorCodes.Unauthenticated);
            }

            // A session the server no longer knows (expired, or ended elsewhere) is as good as ended.
            if ((await session.Api.SendForAnyAsync(HttpMethod.Delete, "sessions/current", null, ct)).Failed(out var failure, out var _)
                && failure.Code != ErrorCodes.Unauthenticated)
            {
                return failure;
            }

            return session.Credentials.Delete()
                ?? session.Show(new { }, (output, _) => output.WriteLine($"Logged out {stored.Username} from {stored.Server}."));
        });
        return command;
    }

    private static Command Account(Runner run)
    {
        var command = new Command("account", "Show your balance and, per machine or host, prices, billing times and income");
        run.Bind(command, Access.LoggedIn, async (_, session, ct) =>
            (await session.Api.GetAsync<AccountResponse>("account", ct)).Failed(out var failure, out var account)
                ? failure
                : session.Show(account, AccountText.Account));
        return command;
    }
}

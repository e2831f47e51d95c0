using System.CommandLine;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Hosts;

/// <summary>The provider's commands (report §5.2): their hosts, adding, editing and removing one; and the market.</summary>
internal static class HostCommands
{
    public static IEnumerable<Command> Build(Runner run)
    {
        yield return List(run);
        yield return new Command("host", "Add, edit, test or delete one of your hosts") { Add(run), Join(run), Edit(run), Test(run), Delete(run) };
        yield return Market(run);
    }

    private static Command List(Runner run)
    {
        var command = new Command("hosts", "List your hosts with their prices, capacity and the machines on them");
        run.Bind(command, Access.LoggedIn, async (_, session, ct) =>
            (await session.Api.GetAsync<HostResponse[]>("hosts", ct)).Failed(out var failure, out var hosts)
                ? failure
                : session.Show(hosts, HostText.Own));
        return command;
    }

    private static Command Market(Runner run)
    {
        var command = new Command("market", "List every host on the market with its prices and free capacity");
        run.Bind(command, Access.Optional, async (_, session, ct) =>
            (await session.Api.GetAsync<HostResponse[]>("market", ct)).Failed(out var failure, out var hosts)
                ? failure
                : session.Show(hosts, HostText.Market));
        return command;
    }

    /// <summary>The options a host keeps editable after it is added (design §3: totals are locked).</summary>
    private sealed class EditableOptions(bool required)
    {
        public Option<string?> Address { get; } = Opt.Text("--address", "The agent's address", "ADDRESS", required);
        public Option<int?> Port { get; } = Opt.Port("--port", "The agent's port", required);
        public Option<long?> SpeedUnit { get; } = Opt.Whole("--speed-unit", "Speed chunk size, bogomips", "BOGOMIPS", required);
        public Option<decimal?> SpeedPrice { get; } = Opt.Dollars("--speed-price", "Dollars per second per speed chunk", required);
        public Option<long?> MemoryUnit { get; } = Opt.Whole("--memory-unit", "Memory chunk size, MB", "MB", required);
        public Option<decimal?> MemoryPrice { get; } = Opt.Dollars("--memory-price", "Dollars per second per memory chunk", required);
        public Option<long?> RunningPeriod { get; } = Opt.Whole("--running-period", "Running billing period, seconds", "SECONDS", required);
        public Option<long?> StorageUnit { get; } = Opt.Whole("--storage-unit", "Storage chunk size, MB", "MB", required);
        public Option<decimal?> StoragePrice { get; } = Opt.Dollars("--storage-price", "Dollars per day per storage chunk", required);
        public Option<long?> StoragePeriod { get; } = Opt.Whole("--storage-period", "Storage billing period, days", "DAYS", required);
        public Option<string?> ConnectSpeed { get; } = Opt.Text("--connect-speed", "Network connection speed, e.g. \"1 Gbit/s\"", "TEXT", required);
        // Issue 14: never required, the server has defaults.
        public Option<string?> PublicAddress { get; } = Opt.Text("--public-address",
            "Where buyers reach the ports forwarded to guests: an IPv4 address or a DNS name [default: 127.0.0.1]", "ADDRESS");
        public Option<string?> Ports { get; } = Opt.Text("--ports",
            "The host's TCP ports forwarded to guests (SSH and a few more per running machine), FIRST-LAST within 1024-65535 [default: 40000-40999]", "FIRST-LAST");

        public Option[] All => [Address, Port, SpeedUnit, SpeedPrice, MemoryUnit, MemoryPrice, RunningPeriod, StorageUnit, StoragePrice, StoragePeriod, ConnectSpeed,
            PublicAddress, Ports];
    }

    private static Command Add(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "Host name, unique on the market" };
        var editable = new EditableOptions(required: true);
        var processor = Opt.Text("--processor", "Processor type", "PROCESSOR", required: true);
        var speed = Opt.Whole("--speed", "Total speed to sell, bogomips (locked once added)", "BOGOMIPS", required: true);
        var memory = Opt.Whole("--memory", "Total memory to sell, MB (locked once added)", "MB", required: true);
        var storage = Opt.Whole("--storage", "Total storage to sell, MB (locked once added)", "MB", required: true);
        var secret = Opt.Text("--secret", "The secret of an agent set up by hand [default: none; the answer is the one command that installs the agent on the host and joins it]", "SECRET");
        var command = new Command("add", "Add a host; without --secret, prints the one command to run on it as root") { name, processor, speed, memory, storage, secret };
        foreach (var option in editable.All)
        {
            command.Add(option);
        }

        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var request = new AddHostRequest(parse.GetValue(name)!, parse.GetValue(editable.Address)!, parse.GetValue(editable.Port)!.Value,
                parse.GetValue(processor)!,
                parse.GetValue(speed)!.Value, parse.GetValue(editable.SpeedUnit)!.Value, parse.GetValue(editable.SpeedPrice)!.Value,
                parse.GetValue(memory)!.Value, parse.GetValue(editable.MemoryUnit)!.Value, parse.GetValue(editable.MemoryPrice)!.Value,
                parse.GetValue(editable.RunningPeriod)!.Value,
                parse.GetValue(storage)!.Value, parse.GetValue(editable.StorageUnit)!.Value, parse.GetValue(editable.StoragePrice)!.Value,
                parse.GetValue(editable.StoragePeriod)!.Value,
                parse.GetValue(editable.ConnectSpeed)!, parse.GetValue(secret), parse.GetValue(editable.PublicAddress), parse.GetValue(editable.Ports));
            return (await session.Api.SendAsync<HostResponse>(HttpMethod.Post, "hosts", request, ct)).Failed(out var failure, out var host)
                ? failure
                : session.Show(host, HostText.Added);
        });
        return command;
    }

    /// <summary>Issue 19: a new install command (one-time join token) for a host whose agent is to be installed or installed again.</summary>
    private static Command Join(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "One of your hosts" };
        var command = new Command("join", "Print a new install command for a host: run it as root on the host (the previous command stops working)") { name };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
            (await session.Api.SendAsync<HostResponse>(HttpMethod.Post, $"hosts/{Uri.EscapeDataString(parse.GetValue(name)!)}/join", null, ct))
                .Failed(out var failure, out var host)
                ? failure
                : session.Show(host, HostText.JoinCommand));
        return command;
    }

    private static Command Edit(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "One of your hosts" };
        var editable = new EditableOptions(required: false);
        // Issue 18: replacing the secret (the agent's --secret-file must then hold the same one).
        var secret = Opt.Text("--secret", "Replace the agent's secret: write the same one to the agent's --secret-file and restart it", "SECRET");
        var command = new Command("edit", "Change a host's prices, chunk sizes, periods, addresses, forwarded ports (never retroactive) or agent secret") { name, secret };
        foreach (var option in editable.All)
        {
            command.Add(option);
        }

        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            if (!Opt.AnyGiven(parse, [.. editable.All, secret]))
            {
                return Failure.Usage("nothing to change; give any of " + string.Join(", ", editable.All.Append(secret).Select(option => option.Name)));
            }

            var request = new EditHostRequest(
                parse.GetValue(editable.SpeedUnit), parse.GetValue(editable.SpeedPrice),
                parse.GetValue(editable.MemoryUnit), parse.GetValue(editable.MemoryPrice), parse.GetValue(editable.RunningPeriod),
                parse.GetValue(editable.StorageUnit), parse.GetValue(editable.StoragePrice), parse.GetValue(editable.StoragePeriod),
                parse.GetValue(editable.Address), parse.GetValue(editable.Port), parse.GetValue(editable.ConnectSpeed),
                parse.GetValue(editable.PublicAddress), parse.GetValue(editable.Ports), parse.GetValue(secret));
            return (await session.Api.SendAsync<HostResponse>(HttpMethod.Patch, $"hosts/{Uri.EscapeDataString(parse.GetValue(name)!)}", request, ct))
                .Failed(out var failure, out var host)
                ? failure
                : session.Show(host, HostText.Details);
        });
        return command;
    }

    /// <summary>Issue 18: the marketplace calls the host's agent now and says what failed, if anything; exit 1 when it failed.</summary>
    private static Command Test(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "One of your hosts" };
        var command = new Command("test", "Test the connection to a host's agent: ok with round trip and bogomips, or what failed (connection refused, timeout, wrong secret, version mismatch)") { name };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            if ((await session.Api.SendAsync<HostTestResponse>(HttpMethod.Post, $"hosts/{Uri.EscapeDataString(parse.GetValue(name)!)}/test", null, ct))
                .Failed(out var failure, out var test))
            {
                return failure;
            }

            if (session.Json)
            {
                session.Show(test, (_, _) => { });
            }

            return test.Ok
                ? session.Json ? null : session.Show(test, (output, t) => output.WriteLine($"OK: {t.Message}" + (t.AgentVersion is { } v ? $" (agent {v})" : "")))
                : new Failure(ExitCode.Refused, test.Message, test.Code);
        });
        return command;
    }

    private static Command Delete(Runner run)
    {
        var name = new Argument<string>("NAME") { Description = "One of your hosts, with no machines stored on it" };
        var command = new Command("delete", "Remove a host from the market") { name };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var host = parse.GetValue(name)!;
            return (await session.Api.SendForAnyAsync(HttpMethod.Delete, $"hosts/{Uri.EscapeDataString(host)}", null, ct)).Failed(out var failure, out _)
                ? failure
                : session.Show(new { }, (output, _) => output.WriteLine($"Deleted host {host}."));
        });
        return command;
    }
}

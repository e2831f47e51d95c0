using System.CommandLine;
using Virtuoso.Contracts.Api;
using Virtuoso.Cli.Output;

namespace Virtuoso.Cli.Machines;

/// <summary>The buyer's commands: configurations, registering, finding a host, storing, and the machine's life cycle.</summary>
internal static class MachineCommands
{
    /// <summary>The actions that are a bare POST to /machines/{id}/{verb} (design §3.3).</summary>
    private static readonly (string Verb, string Description)[] LifeCycle =
    [
        ("start", "Start a stored, stopped machine"),
        ("stop", "Stop a running machine (its version grows by one)"),
        ("suspend", "Suspend a running machine, saving its memory (its version grows by one)"),
        ("resume", "Resume a suspended machine"),
    ];

    public static IEnumerable<Command> Build(Runner run)
    {
        yield return Configs(run);
        yield return Images(run);
        yield return Register(run);
        yield return Edit(run);
        yield return List(run);
        yield return Show(run);
        yield return Search(run);
        yield return Store(run);
        foreach (var (verb, description) in LifeCycle)
        {
            yield return Action(run, verb, description);
        }

        yield return Delete(run);
        yield return Serial(run);
        yield return Console(run);
        yield return Ports(run);
    }

    private static Argument<string> MachineArgument() =>
        new("ID") { Description = "The machine: its id, a unique prefix of it (8+ hex digits), or its unique name" };

    private static Command Configs(Runner run)
    {
        var command = new Command("configs", "List the standard and preconfigured machine configurations");
        run.Bind(command, Access.Optional, async (_, session, ct) =>
            (await session.Api.GetAsync<ConfigurationResponse[]>("configurations", ct)).Failed(out var failure, out var configurations)
                ? failure
                : session.Show(configurations, MachineText.Configurations));
        return command;
    }

    private static Command Images(Runner run)
    {
        var command = new Command("images", "List the catalogue of preconfigured base images: OS, size, minimums and SHA-256");
        run.Bind(command, Access.Optional, async (_, session, ct) =>
            (await session.Api.GetAsync<ImageResponse[]>("images", ct)).Failed(out var failure, out var images)
                ? failure
                : session.Show(images, MachineText.Images));
        return command;
    }

    /// <summary>The spec options shared by register and edit.</summary>
    private sealed class SpecOptions
    {
        public Option<string?> Name { get; } = Opt.Text("--name", "Machine name", "NAME");
        public Option<string?> Processor { get; } = Opt.Text("--processor", "Processor type", "PROCESSOR");
        public Option<long?> Speed { get; } = Opt.Whole("--speed", "CPU speed in bogomips", "BOGOMIPS");
        public Option<long?> Memory { get; } = Opt.Whole("--memory", "Memory in MB", "MB");
        public Option<long?> Disk { get; } = Opt.Whole("--disk", "Disk size in MB", "MB");
        public Option<string?> Os { get; } = Opt.Text("--os", "Operating system label", "OS");

        public void AddTo(Command command)
        {
            command.Add(Name);
            command.Add(Processor);
            command.Add(Speed);
            command.Add(Memory);
            command.Add(Disk);
            command.Add(Os);
        }
    }

    private static Command Register(Runner run)
    {
        var config = Opt.Text("--config", "Start from this configuration (see: virtuoso configs); the spec options override it", "NAME");
        var spec = new SpecOptions();
        var storageBid = Opt.Dollars("--storage-bid", "Most you will pay for storage, dollars per month", required: true);
        var runningBid = Opt.Dollars("--running-bid", "Most you will pay for running time, dollars per hour", required: true);
        var network = Opt.Text("--network", "The private network it joins (see: virtuoso networks; default 'default')", "NAME");
        var command = new Command("register", "Register a machine from a configuration or a custom spec, with your bids") { config };
        spec.AddTo(command);
        command.Add(storageBid);
        command.Add(runningBid);
        command.Add(network);
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var configName = parse.GetValue(config);
            if (configName is null)
            {
                var missing = new Option[] { spec.Name, spec.Speed, spec.Memory, spec.Disk, spec.Os }
                    .Where(option => parse.GetResult(option) is null)
                    .Select(option => option.Name)
                    .ToList();
                if (missing.Count > 0)
                {
                    return Failure.Usage($"give --config NAME, or all of --name, --speed, --memory, --disk and --os (missing {string.Join(", ", missing)})");
                }
            }

            var request = new RegisterRequest(configName, parse.GetValue(spec.Name), parse.GetValue(spec.Processor),
                parse.GetValue(spec.Speed), parse.GetValue(spec.Memory), parse.GetValue(spec.Disk), parse.GetValue(spec.Os),
                parse.GetValue(storageBid)!.Value, parse.GetValue(runningBid)!.Value, parse.GetValue(network));
            return (await session.Api.SendAsync<MachineResponse>(HttpMethod.Post, "machines", request, ct)).Failed(out var failure, out var machine)
                ? failure
                : session.Show(machine, MachineText.Registered);
        });
        return command;
    }

    private static Command Edit(Runner run)
    {
        var id = MachineArgument();
        var spec = new SpecOptions();
        var storageBid = Opt.Dollars("--storage-bid", "New storage bid, dollars per month");
        var runningBid = Opt.Dollars("--running-bid", "New running bid, dollars per hour");
        var cdrom = Opt.Text("--cdrom", "Put one of your ISO images in its CD drive (it boots from it first), or 'none' to eject; " +
            "also on a stored or stopped machine, not a running one", "NAME|none");
        var network = Opt.Text("--network", "Move it to another of your private networks, with a new address there; " +
            "also on a stored or stopped machine, not a running one", "NAME");
        var command = new Command("edit", "Change a registered machine's spec or bids, or the ISO in a machine's CD drive, or its private network") { id };
        spec.AddTo(command);
        command.Add(storageBid);
        command.Add(runningBid);
        command.Add(cdrom);
        command.Add(network);
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            if (!Opt.AnyGiven(parse, spec.Name, spec.Processor, spec.Speed, spec.Memory, spec.Disk, spec.Os, storageBid, runningBid, cdrom, network))
            {
                return Failure.Usage("nothing to change; give any of --name, --processor, --speed, --memory, --disk, --os, --storage-bid, --running-bid, --cdrom, --network");
            }

            if ((await MachineRef.ResolveAsync(session.Api, parse.GetValue(id)!, ct)).Failed(out var notFound, out var machineId))
            {
                return notFound;
            }

            var request = new EditMachineRequest(parse.GetValue(spec.Name), parse.GetValue(spec.Processor),
                parse.GetValue(spec.Speed), parse.GetValue(spec.Memory), parse.GetValue(spec.Disk), parse.GetValue(spec.Os),
                parse.GetValue(storageBid), parse.GetValue(runningBid), parse.GetValue(cdrom), parse.GetValue(network));
            return (await session.Api.SendAsync<MachineResponse>(HttpMethod.Patch, $"machines/{machineId}", request, ct)).Failed(out var failure, out var machine)
                ? failure
                : session.Show(machine, MachineText.Details);
        });
        return command;
    }

    private static Command List(Runner run)
    {
        var command = new Command("machines", "List your machines with their states and allowed actions");
        run.Bind(command, Access.LoggedIn, async (_, session, ct) =>
            (await session.Api.GetAsync<MachineResponse[]>("machines", ct)).Failed(out var failure, out var machines)
                ? failure
                : session.Show(machines, MachineText.List));
        return command;
    }

    private static Command Show(Runner run)
    {
        var id = MachineArgument();
        var command = new Command("machine", "Show one machine: spec, bids, prices, host, allowed actions") { id };
        run.Bind(command, Access.LoggedIn, (parse, session, ct) =>
            OnMachineAsync(session, parse.GetValue(id)!, ct, machineId =>
                session.Api.GetAsync<MachineResponse>($"machines/{machineId}", ct), MachineText.Details));
        return command;
    }

    private static Command Search(Runner run)
    {
        var id = MachineArgument();
        var hours = Opt.Hours("--hours", "Hours a month the machine runs, 0 to 744: hosts are sorted by storage + running for them (default 730, always on)");
        var limit = Opt.Whole("--limit", "How many hosts to show, best first: 1 to 1000 (default 100)", "N");
        var command = new Command("search", "Find hosts for a machine: matching ones cheapest a month first, then the others with reasons") { id, hours, limit };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var reference = parse.GetValue(id)!;
            if ((await MachineRef.ResolveAsync(session.Api, reference, ct)).Failed(out var notFound, out var machineId))
            {
                return notFound;
            }

            var query = string.Join('&', new[]
            {
                parse.GetValue(hours) is { } h ? $"hours={Text.Number(h)}" : null,
                parse.GetValue(limit) is { } n ? $"limit={n}" : null, // the front-end says what is too many
            }.OfType<string>());
            if (query.Length > 0) query = "?" + query;
            return (await session.Api.GetAsync<SearchResult[]>($"machines/{machineId}/search{query}", ct)).Failed(out var failure, out var results)
                ? failure
                : session.Show(results, (output, value) => MachineText.Search(output, value, reference));
        });
        return command;
    }

    private static Command Store(Runner run)
    {
        var id = MachineArgument();
        var host = Opt.Text("--host", "The host to store it on (see: virtuoso search ID)", "HOST", required: true);
        var command = new Command("store", "Store a registered machine on a host, fixing its prices") { id, host };
        run.Bind(command, Access.LoggedIn, (parse, session, ct) =>
            OnMachineAsync(session, parse.GetValue(id)!, ct, machineId =>
                session.Api.SendAsync<MachineResponse>(HttpMethod.Post, $"machines/{machineId}/store", new StoreRequest(parse.GetValue(host)!), ct),
                MachineText.Stored));
        return command;
    }

    private static Command Action(Runner run, string verb, string description)
    {
        var id = MachineArgument();
        var command = new Command(verb, description) { id };
        run.Bind(command, Access.LoggedIn, (parse, session, ct) =>
            OnMachineAsync(session, parse.GetValue(id)!, ct, machineId =>
                session.Api.SendAsync<MachineResponse>(HttpMethod.Post, $"machines/{machineId}/{verb}", null, ct), MachineText.Changed));
        return command;
    }

    private static Command Delete(Runner run)
    {
        var id = MachineArgument();
        var command = new Command("delete", "Delete a machine that is not running, with its disk") { id };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            var reference = parse.GetValue(id)!;
            if ((await MachineRef.ResolveAsync(session.Api, reference, ct)).Failed(out var notFound, out var machineId))
            {
                return notFound;
            }

            // What the deletion gives up, read just before it (issue 18): said afterwards in one line.
            if ((await session.Api.GetAsync<ForfeitResponse>($"machines/{machineId}/forfeit", ct)).Failed(out var unknown, out var forfeit))
            {
                return unknown;
            }

            return (await session.Api.SendForAnyAsync(HttpMethod.Delete, $"machines/{machineId}", null, ct)).Failed(out var failure, out _)
                ? failure
                : session.Show(forfeit, (output, f) => output.WriteLine(f.Host is null
                    ? $"Deleted machine {machineId}."
                    : $"Deleted machine {machineId}: gave up {Text.GivenUp(f)}; nothing more was charged."));
        });
        return command;
    }

    private static Command Serial(Runner run)
    {
        var id = MachineArgument();
        var command = new Command("serial", "Print the machine's serial console log so far") { id };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            if ((await MachineRef.ResolveAsync(session.Api, parse.GetValue(id)!, ct)).Failed(out var notFound, out var machineId))
            {
                return notFound;
            }

            if ((await session.Api.GetTextAsync($"machines/{machineId}/serial", ct)).Failed(out var failure, out var log))
            {
                return failure;
            }

            // Exactly as logged, no newline added: scripts compare lengths between calls to see what is new.
            return session.Show(new SerialLog(machineId, log), (output, value) => output.Write(value.Serial));
        });
        return command;
    }

    private static Command Console(Runner run)
    {
        var id = MachineArgument();
        var command = new Command("console", "Print the address of the machine's console page, to open in a browser") { id };
        run.Bind(command, Access.LoggedIn, async (parse, session, ct) =>
        {
            if ((await MachineRef.ResolveAsync(session.Api, parse.GetValue(id)!, ct)).Failed(out var notFound, out var machineId))
            {
                return notFound;
            }

            if ((await session.Api.GetAsync<MachineResponse>($"machines/{machineId}", ct)).Failed(out var failure, out var machine))
            {
                return failure;
            }

            // The page asks for its own one-time ticket when it opens: a ticket printed here would expire within seconds.
            if (!machine.Actions.Contains("console"))
            {
                return new Failure(ExitCode.Refused,
                    $"machine {machineId} is {machine.State}: its console opens only while it runs (allowed: {string.Join(", ", machine.Actions)})",
                    ErrorCodes.InvalidState);
            }

            var url = new Uri(session.Server, $"/machines/{machineId:D}/console").ToString();
            return session.Show(new ConsolePage(machineId, url), (output, value) => output.WriteLine(value.Url));
        });
        return command;
    }

    private static Command Ports(Runner run)
    {
        var id = MachineArgument();
        var add = Opt.Port("--add", "Forward this guest port too (at most 5 besides SSH), from the next start or resume");
        var remove = Opt.Port("--remove", "Stop forwarding this guest port, from the next start or resume");
        var command = new Command("ports", "List a machine's forwarded ports (SSH and up to 5 more), or ask for one more or one less (issue 14)") { id, add, remove };
        run.Bind(command, Access.LoggedIn, (parse, session, ct) =>
        {
            if (parse.GetValue(add) is { } a && parse.GetValue(remove) is { } r)
            {
                return Task.FromResult<Failure?>(Failure.Usage($"give --add or --remove, not both (--add {a} --remove {r})"));
            }

            return OnMachineAsync(session, parse.GetValue(id)!, ct, machineId =>
                parse.GetValue(add) is { } port
                    ? session.Api.SendAsync<MachineResponse>(HttpMethod.Post, $"machines/{machineId}/ports", new PortRequest(port), ct)
                    : parse.GetValue(remove) is { } gone
                        ? session.Api.SendAsync<MachineResponse>(HttpMethod.Delete, $"machines/{machineId}/ports/{gone}", null, ct)
                        : session.Api.GetAsync<MachineResponse>($"machines/{machineId}", ct),
                MachineText.Ports);
        });
        return command;
    }

    /// <summary>What <c>console --json</c> prints.</summary>
    private sealed record ConsolePage(Guid Id, string Url);

    /// <summary>What <c>serial --json</c> prints: the server answers plain text.</summary>
    private sealed record SerialLog(Guid Id, string Serial);

    /// <summary>Resolve the reference, make the call, show the machine it answers.</summary>
    private static async Task<Failure?> OnMachineAsync(Session session, string reference, CancellationToken cancellationToken,
        Func<Guid, Task<Result<MachineResponse>>> call, Action<TextWriter, MachineResponse> human)
    {
        if ((await MachineRef.ResolveAsync(session.Api, reference, cancellationToken)).Failed(out var notFound, out var machineId))
        {
            return notFound;
        }

        return (await call(machineId)).Failed(out var failure, out var machine) ? failure : session.Show(machine, human);
    }
}

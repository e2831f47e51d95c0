using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Options;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.Core.Accounts;
using Virtuoso.Core.Billing;
using Virtuoso.Core.Machines;
using Virtuoso.Core.Market;
using Virtuoso.FrontEnd.Agents;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Networks;

namespace Virtuoso.FrontEnd.Machines;

/// <summary>
/// A buyer's machines through their lifecycle (report §4, §5.1; design §3.3). Each action is checked against the
/// core's state table and the buyer's funds, then claimed as an intent (<see cref="MachineWriter.ClaimAsync"/>),
/// performed on the host's agent and committed (<see cref="MachineActions"/>), so that two racing requests can never
/// both succeed, a crash at any point is finished or undone by the <see cref="IntentReconciler"/>, and the front-end's
/// version always ends equal to the agent's. Machines of other buyers answer exactly like machines that do not exist (§6.1.4).
/// </summary>
internal sealed class MachineService(Database db, Ledger ledger, EventLog events, AgentClient agents, MachineWriter writer, MachineActions actions,
    PortForwards ports, NetworkService networks, NetworkSync sync, HostSnapshot snapshot, TimeProvider clock, IOptions<MarketOptions> options)
{
    private MarketOptions Options => options.Value;

    public async Task<Outcome<MachineRow>> FindAsync(string owner, Guid id, DbConnection? c = null, DbTransaction? tx = null)
    {
        var row = c is null
            ? await db.ReadAsync(conn => Load(conn, null, id))
            : await Load(c, tx, id);
        return row is not null && row.Owner == owner ? row : Failure.MachineNotFound;

        static Task<MachineRow?> Load(DbConnection c, DbTransaction? tx, Guid id) =>
            c.QuerySingleOrDefaultAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE id = @id", new { id }, tx);
    }

    public Task<IEnumerable<MachineRow>> ListAsync(string owner) =>
        db.ReadAsync(c => c.QueryAsync<MachineRow>($"SELECT {MachineRow.Columns} FROM machines WHERE owner = @owner ORDER BY created_at, id", new { owner }));

    // ---- register and edit (§5.1.2) ----

    public async Task<Outcome<MachineRow>> RegisterAsync(string owner, RegisterRequest r)
    {
        ConfigRow? config = null;
        if (r.Config is not null)
        {
            config = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<ConfigRow>("SELECT * FROM configurations WHERE name = @name", new { name = r.Config }));
            if (config is null) return new Failure(ErrorCodes.UnknownConfiguration, $"unknown configuration '{r.Config}': see GET /api/v1/configurations");
        }
        else if (r.Name is null || r.Speed is null || r.Memory is null || r.Disk is null || r.Os is null)
            return Failure.Validation("give a configuration name, or all of name, speed, memory, disk and os");

        var id = Guid.NewGuid();
        var row = new MachineRow
        {
            Id = id, Owner = new(owner),
            Name = r.Name ?? config!.Name, Processor = r.Processor ?? config?.Processor ?? "x86_64",
            Speed = r.Speed ?? config!.Speed, Memory = r.Memory ?? config!.Memory, Disk = r.Disk ?? config!.Disk,
            Os = r.Os ?? config!.Os, Image = config?.Image, Mac = MacFor(id),
            State = MachineState.Registered, Version = 0,
            StorageBid = new Money(r.StorageBid), RunningBid = new Money(r.RunningBid),
            RunningSecondsUsed = 0m, CreatedAt = clock.GetUtcNow(),
        };
        if (CheckSpec(row, config?.MinMemory, config?.MinDisk) is { } bad) return bad;
        if (r.Network is { } wanted && NetworkService.CheckName(wanted) is not null) return NetworkService.NoSuchNetwork(wanted);

        var fee = new Money(Options.RegistrationFee);
        return await db.WriteAsync<Outcome<MachineRow>>(async (c, tx) =>
        {
            await ledger.LockAsync(c, tx, [owner, Ledger.Operator]);
            if (fee.Dollars > 0 && await ledger.BalanceAsync(c, tx, owner) < fee)
                return new Failure(ErrorCodes.InsufficientFunds, $"registering costs {Plain.Exact(fee)} and your balance is {Plain.Exact(await ledger.BalanceAsync(c, tx, owner))}");
            // Issue 16: its network (default: created if missing) and the lowest free address there, under the network's lock.
            var attached = await networks.AllocateAsync(c, tx, owner, r.Network);
            if (attached.Value is not { } a) return attached.Failure!;
            (row.Network, row.PrivateAddress, row.NetworkName) = (a.Network.Id, a.Address, a.Network.Name);
            await c.ExecuteAsync($"INSERT INTO machines ({MachineRow.Columns}) VALUES (@Id, @Owner, @Name, @Processor, @Speed, @Memory, @Disk, @Os, @Image, @Mac, @StoredState, @Version, @Host, " +
                "@StorageBid, @RunningBid, @StoragePrice, @StoragePeriodDays, @RunningPrice, @RunningPeriodSeconds, @Stay, @ArrivedAt, @StoragePeriodsCharged, " +
                "@RunningPeriodsCharged, @RunningSecondsUsed, @RunningSince, @CreatedAt, @NextStorageAt, @RunningDueAt, @Intent, @HostOfflineSince, " +
                "@CpuMillicores, @Vcpus, @CpuUsedMillicores, @MemoryUsedMb, @Activity, @Network, @PrivateAddress)", row, tx);
            if (fee.Dollars > 0)
                await ledger.TransferAsync(c, tx, ChargeKey.RegistrationFee(id), TransferKinds.RegistrationFee, fee, owner, Ledger.Operator, id, null, clock.GetUtcNow());
            await events.AppendAsync(c, tx, "registered", id, owner, $"registered {row.Name} ({row.Speed} bogomips, {row.Memory} MB, {row.Disk} MB, {row.Os}); fee {Plain.Exact(fee)}; network {row.NetworkName}, address {row.PrivateAddress}");
            return row;
        }, o => o.Ok);
    }

    public async Task<Outcome<MachineRow>> EditAsync(string owner, Guid id, EditMachineRequest r)
    {
        // Issue 16: a machine registered before networks joins its owner's default network at its first edit.
        if ((await FindAsync(owner, id)).Ok) await networks.AttachUnattachedAsync(id);
        var found = await FindAsync(owner, id);
        if (found.Value is not { } row) return found;
        var specChange = r is not { Name: null, Processor: null, Speed: null, Memory: null, Disk: null, Os: null, StorageBid: null, RunningBid: null };
        if (!specChange && (r.Cdrom is not null || r.Network is not null)) return await DriveAsync(owner, row, r.Cdrom, r.Network);
        if (Refuse(row, MachineAction.Edit) is { } refused) return refused;
        ConfigRow? image = row.Image is null ? null
            : await db.ReadAsync(c => c.QueryFirstOrDefaultAsync<ConfigRow>("SELECT * FROM configurations WHERE image = @image", new { image = row.Image }));
        var version = row.Version;
        row.Name = r.Name ?? row.Name; row.Processor = r.Processor ?? row.Processor; row.Os = r.Os ?? row.Os;
        row.Speed = r.Speed ?? row.Speed; row.Memory = r.Memory ?? row.Memory; row.Disk = r.Disk ?? row.Disk;
        row.StorageBid = r.StorageBid is { } sb ? new Money(sb) : row.StorageBid;
        row.RunningBid = r.RunningBid is { } rb ? new Money(rb) : row.RunningBid;
        if (CheckSpec(row, image?.MinMemory, image?.MinDisk) is { } bad) return bad;
        var edited = await db.WriteAsync<Outcome<MachineRow>>(async (c, tx) =>
        {
            var n = await c.ExecuteAsync("UPDATE machines SET name=@Name, processor=@Processor, os=@Os, speed=@Speed, memory=@Memory, disk=@Disk, " +
                "storage_bid=@StorageBid, running_bid=@RunningBid WHERE id=@Id AND version=@version AND state=@State AND intent IS NULL",
                new { row.Name, row.Processor, row.Os, row.Speed, row.Memory, row.Disk, row.StorageBid, row.RunningBid, row.Id, version, State = MachineRow.StateText(row.State) }, tx);
            if (n == 0) return await MachineWriter.BusyOrChangedAsync(c, tx, row.Id);
            await events.AppendAsync(c, tx, "edited", id, owner, $"configuration edited: {row.Speed} bogomips, {row.Memory} MB, {row.Disk} MB, bids {row.StorageBid} $/month, {row.RunningBid} $/hour");
            if (r.Cdrom is { } cdrom && await SetCdromAsync(c, tx, owner, row, cdrom) is { } refused) return refused;
            if (r.Network is { } network && await SetNetworkAsync(c, tx, owner, row, network) is { } refusedNetwork) return refusedNetwork;
            return row;
        }, o => o.Ok);
        if (edited.Ok && r.Network is not null) sync.Nudge([row.Host], row.Network);
        return edited;
    }

    /// <summary>
    /// The CD drive and the private network (issues 15 and 16), alone or together: while the machine does not run (registered,
    /// stored or stopped), since its host gives QEMU the CD and the private NIC at the next start.
    /// </summary>
    private async Task<Outcome<MachineRow>> DriveAsync(string owner, MachineRow row, string? cdrom, string? network)
    {
        if (cdrom is null) return await NetworkAsync(owner, row, network!);
        if (network is null) return await CdromAsync(owner, row, cdrom);
        if (NetworkRefusal(row) is { } refused) return refused;
        var previous = row.Network;
        var done = await db.WriteAsync<Outcome<MachineRow>>(async (c, tx) =>
            (await SetCdromAsync(c, tx, owner, row, cdrom) ?? await SetNetworkAsync(c, tx, owner, row, network)) is { } failure ? failure : row, o => o.Ok);
        if (done.Ok) sync.Nudge([row.Host], previous);
        if (done.Ok) sync.Nudge([row.Host], row.Network);
        return done;
    }

    /// <summary>
    /// Moves the machine to the owner's network <paramref name="network"/> with the lowest free address there (issue 16); the same
    /// network keeps its address. Like the CD: while it does not run (the running guest holds its address and NIC).
    /// </summary>
    private async Task<Outcome<MachineRow>> NetworkAsync(string owner, MachineRow row, string network)
    {
        if (NetworkRefusal(row) is { } refused) return refused;
        var previous = row.Network;
        var done = await db.WriteAsync<Outcome<MachineRow>>(async (c, tx) =>
            await SetNetworkAsync(c, tx, owner, row, network) is { } failure ? failure : row, o => o.Ok);
        if (done.Ok) sync.Nudge([row.Host], previous);
        if (done.Ok) sync.Nudge([row.Host], row.Network);
        return done;
    }

    /// <summary>Why the network of a machine in this state cannot be changed now, or null; the web shows the same.</summary>
    internal static Failure? NetworkRefusal(MachineRow row) => row.State switch
    {
        MachineState.Running or MachineState.Suspended => new Failure(ErrorCodes.InvalidState,
            $"the machine is {row.StoredState}: stop it first, then change its network (the running guest holds its address and NIC; the new one applies at the next start)"),
        MachineState.Migrating => new Failure(ErrorCodes.InvalidState, "the machine is migrating: change its network once the migration has ended"),
        _ when row.Intent is not null => new Failure(ErrorCodes.Busy, "the machine is busy: another action on it is in progress; try again in a few seconds"),
        _ => null,
    };

    private async Task<Failure?> SetNetworkAsync(DbConnection c, DbTransaction tx, string owner, MachineRow row, string network)
    {
        if (NetworkService.CheckName(network) is not null) return NetworkService.NoSuchNetwork(network);
        var current = await NetworkService.OfAsync(c, row.Id.Value, tx);
        if (current is not null && current.Network.Name == network)
        {
            (row.NetworkName, row.PrivateAddress) = (current.Network.Name, current.Address);
            return null; // already there: it keeps its address
        }
        var attached = await networks.AllocateAsync(c, tx, owner, network);
        if (attached.Value is not { } a) return attached.Failure;
        if (!await MachineWriter.SetNetworkAsync(c, tx, row, a.Network.Id, a.Address)) return await MachineWriter.BusyOrChangedAsync(c, tx, row.Id);
        (row.Network, row.PrivateAddress, row.NetworkName) = (a.Network.Id, a.Address, a.Network.Name);
        await events.AppendAsync(c, tx, "network-changed", row.Id, owner,
            $"moved to network {a.Network.Name} as {a.Address}" + (current is null ? "" : $" (was {current.Address} on {current.Network.Name})") + ": from the next start");
        return null;
    }

    /// <summary>
    /// Puts the owner's ISO <paramref name="cdrom"/> in the machine's CD drive, or ejects it ("none") (issue 15): while the
    /// machine does not run (registered, stored or stopped), since its host gives QEMU the CD at the next start.
    /// </summary>
    private async Task<Outcome<MachineRow>> CdromAsync(string owner, MachineRow row, string cdrom)
    {
        if (CdromRefusal(row) is { } refused) return refused;
        return await db.WriteAsync<Outcome<MachineRow>>(async (c, tx) =>
            await SetCdromAsync(c, tx, owner, row, cdrom) is { } failure ? failure : row, o => o.Ok);
    }

    /// <summary>Why the CD of a machine in this state cannot be changed now, or null; the web shows the same.</summary>
    internal static Failure? CdromRefusal(MachineRow row) => row.State switch
    {
        MachineState.Running or MachineState.Suspended => new Failure(ErrorCodes.InvalidState,
            $"the machine is {row.StoredState}: stop it first, then attach or eject its CD (it takes effect at the next start)"),
        MachineState.Migrating => new Failure(ErrorCodes.InvalidState, "the machine is migrating: attach or eject its CD once the migration has ended"),
        _ when row.Intent is not null => new Failure(ErrorCodes.Busy, "the machine is busy: another action on it is in progress; try again in a few seconds"),
        _ => null,
    };

    private async Task<Failure?> SetCdromAsync(DbConnection c, DbTransaction tx, string owner, MachineRow row, string cdrom)
    {
        long? iso = null;
        var eject = cdrom.Equals("none", StringComparison.OrdinalIgnoreCase);
        if (!eject)
        {
            // Locked until the commit, so a concurrent delete of the ISO waits and then sees it attached.
            iso = await Isos.IsoService.LockAsync(db, c, tx, owner, cdrom);
            if (iso is null) return Isos.IsoService.NoSuchIso(cdrom);
        }

        if (!await MachineWriter.SetCdromAsync(c, tx, row, iso)) return await MachineWriter.BusyOrChangedAsync(c, tx, row.Id);
        await events.AppendAsync(c, tx, eject ? "cdrom-ejected" : "cdrom-attached", row.Id, owner,
            eject ? "CD ejected: the machine boots from its disk from the next start" : $"ISO {cdrom} attached as its CD: the machine boots from it first from the next start");
        return null;
    }

    private static Failure? CheckSpec(MachineRow m, long? minMemory, long? minDisk)
    {
        if (Validate.First(
                Validate.Label("name", m.Name), Validate.Label("processor", m.Processor), Validate.Label("os", m.Os),
                Validate.Range("speed", m.Speed, 1, Validate.MaxSpeed),
                Validate.Range("memory", m.Memory, 16, Validate.MaxMemory),
                Validate.Range("disk", m.Disk, 1, Validate.MaxDisk),
                Validate.Price("storage bid", m.StorageBid.Dollars, Validate.MaxBid),
                Validate.Price("running bid", m.RunningBid.Dollars, Validate.MaxBid)) is { } invalid)
            return invalid;
        if (minMemory is { } mm && m.Memory < mm)
            return new Failure(ErrorCodes.BelowImageMinimum, $"the {m.Image} image needs at least {mm} MB of memory, asked {m.Memory} MB");
        if (minDisk is { } md && m.Disk < md)
            return new Failure(ErrorCodes.BelowImageMinimum, $"the {m.Image} image needs at least {md} MB of disk, asked {m.Disk} MB");
        return null;
    }

    /// <summary>A locally administered unicast MAC derived from the machine id (the marketplace sets it, §6.2.3).</summary>
    private static string MacFor(Guid id)
    {
        var b = id.ToByteArray();
        return $"02:{b[0]:x2}:{b[1]:x2}:{b[2]:x2}:{b[3]:x2}:{b[4]:x2}";
    }

    // ---- search (§5.1.3) ----

    /// <summary>
    /// Every host judged for a registered machine, sorted by what it costs a month for <paramref name="hours"/> hours of
    /// running (issue 18; <see cref="UsageCost"/>), matching hosts first; each reason as a code and a sentence.
    /// </summary>
    /// <summary>How many hosts a search shows when not told (issue 19: a marketplace of 10,000 hosts), and at most.</summary>
    public const int DefaultSearchLimit = 100, MaxSearchLimit = 1000;

    /// <summary>The best <paramref name="limit"/> hosts for the machine, and how many hosts were ranked.</summary>
    public sealed record SearchAnswer(IReadOnlyList<SearchResult> Results, int Ranked);

    public async Task<Outcome<SearchAnswer>> SearchAsync(string owner, Guid id, decimal hours = UsageCost.DefaultHoursPerMonth, int limit = DefaultSearchLimit)
    {
        var found = await FindAsync(owner, id);
        if (found.Value is not { } row) return found.Failure!;
        if (Refuse(row, MachineAction.Search) is { } refused) return refused;
        var hosts = await snapshot.GetAsync();
        var bids = new Bids(row.StorageBid, row.RunningBid);
        // Only the best limit are judged exactly and given their sentences (issue 19: at 10,000 hosts judging and sorting
        // every host, then making sentences for each, was most of a search's time).
        var best = hosts.Ranking.Best(row.Spec, bids, hours, limit);
        return new SearchAnswer(best.Select(m => new SearchResult(m.Host.Name, hosts.ByName[m.Host.Name].Processor, hosts.ByName[m.Host.Name].Address, m.Matches,
            m.StorageRatePerMonth.Dollars, m.RunningRatePerHour.Dollars, m.StorageCharge.Dollars, m.Host.Pricing.StoragePeriodDays,
            m.RunningCharge.Dollars, m.Host.Pricing.RunningPeriodSeconds, m.Reasons.Select(ReasonText).ToList(),
            UsageCost.Monthly(m.StorageRatePerMonth, m.RunningRatePerHour, hours).Dollars, hours,
            m.Reasons.Select(r => MismatchText.Sentence(r, m, row.Spec, bids)).ToList())).ToList(), hosts.Ranking.Count);
    }

    /// <summary>Reads <c>?limit=</c> (issue 19): how many hosts a search shows, 1 to <see cref="MaxSearchLimit"/>; absent: <see cref="DefaultSearchLimit"/>.</summary>
    public static Outcome<int> ParseLimit(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return DefaultSearchLimit;
        if (int.TryParse(text.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= MaxSearchLimit)
            return limit;
        return new Failure(ErrorCodes.InvalidLimit, $"give how many hosts to show, 1 to {MaxSearchLimit}, not '{text}'");
    }

    /// <summary>
    /// Reads <c>?hours=</c> (issue 18): hours a month the machine runs, 0 to 744, digits with an optional decimal point;
    /// absent or blank is 730 (always on, <see cref="UsageCost.DefaultHoursPerMonth"/>).
    /// </summary>
    public static Outcome<decimal> ParseHours(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return (decimal)UsageCost.DefaultHoursPerMonth;
        if (decimal.TryParse(text.Trim(), System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var hours)
            && UsageCost.ValidHours(hours))
            return hours;
        return new Failure(ErrorCodes.InvalidHours, $"give the hours a month the machine runs, 0 to {UsageCost.MaxHoursPerMonth} (730 is always on), not '{text}'");
    }

    /// <summary>What deleting the machine now gives up (issue 18): nothing for a machine on no host.</summary>
    public async Task<Outcome<ForfeitResponse>> ForfeitAsync(string owner, Guid id)
    {
        var found = await FindAsync(owner, id);
        if (found.Value is not { } row) return found.Failure!;
        return ForfeitOf(row, clock.GetUtcNow(), Departure.Delete);
    }

    /// <summary>What <paramref name="row"/> gives up leaving its host at <paramref name="now"/>; zeros for a machine on no host.</summary>
    public static ForfeitResponse ForfeitOf(MachineRow row, DateTimeOffset now, Departure departure)
    {
        if (row.Host is null || row.ArrivedAt is null) return new ForfeitResponse(row.Id, null, 0m, null, 0m, 0m, 0m, 0m);
        var f = Forfeits.At(row.Bill, now, departure);
        return new ForfeitResponse(row.Id, row.Host, f.Storage.Dollars, f.StoragePaidUntil, f.RunningSeconds, f.Running.Dollars, f.Total.Dollars, f.ChargedNow.Dollars);
    }

    // ---- store (§5.1.3, §6.3.1) ----

    public async Task<Outcome<MachineRow>> StoreAsync(string owner, Guid id, string hostName)
    {
        var found = await FindAsync(owner, id);
        if (found.Value is not { } row) return found;
        if (Refuse(row, MachineAction.Store) is { } refused) return refused;
        var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, hostName));
        if (host is null) return Failure.NotFound($"host '{hostName}'");
        var now = clock.GetUtcNow();
        var bids = new Bids(row.StorageBid, row.RunningBid);
        if (Unsuitable(Matching.Judge(host.Offer(now, Options.OnlineWindow), row.Spec, bids), row.Spec, bids) is { } unsuitable) return unsuitable;
        var storageCharge = host.Pricing.StorageCharge(row.Spec);
        var balance = await db.ReadAsync(c => ledger.BalanceAsync(c, null, owner));
        if (balance.Dollars < 0) return NegativeBalance(balance);
        if (balance < storageCharge) return new Failure(ErrorCodes.InsufficientFunds, $"storing on {host.Name} costs {Plain.Exact(storageCharge)} now and your balance is {Plain.Exact(balance)}");

        // The intent reserves the room (HostRow.Columns counts machines on their way in), checked under the host's row lock.
        var claimed = await writer.ClaimAsync(row, IntentAction.Store, host.Name, async (c, tx) =>
        {
            await c.ExecuteAsync("SELECT name FROM hosts WHERE name = @name" + db.ForUpdate, new { name = host.Name }, tx);
            var locked = await HostQueries.ByNameAsync(c, host.Name, tx);
            if (locked is null || locked.Deleting != 0) return Failure.NotFound($"host '{hostName}'");
            return Unsuitable(Matching.Judge(locked.Offer(now, Options.OnlineWindow), row.Spec, bids), row.Spec, bids);
        });
        if (claimed.Value is not { } intent) return claimed.Failure!;
        return Done(await actions.PerformAsync(intent));
    }

    private static Outcome<MachineRow> Done(Outcome<MachineRow?> ended) => ended.Failure is { } f ? f : ended.Value!;

    // The reasons as the search page says them (issue 18: sentences, not codes; the code is the failure's).
    private static Failure? Unsuitable(HostMatch m, MachineSpec spec, Bids bids)
    {
        if (m.Matches) return null;
        var host = m.Host.Name;
        if (m.Reasons.Contains(MismatchReason.Offline)) return new Failure(ErrorCodes.HostOffline, $"host {host} is offline");
        string Said(IEnumerable<MismatchReason> reasons) => string.Join(" ", reasons.Select(r => MismatchText.Sentence(r, m, spec, bids)));
        var room = m.Reasons.Where(r => r is MismatchReason.NotEnoughSpeed or MismatchReason.NotEnoughMemory or MismatchReason.NotEnoughStorage).ToList();
        if (room.Count > 0) return new Failure(ErrorCodes.NoRoom, $"host {host} has no room for this machine. {Said(room)}");
        return new Failure(ErrorCodes.OverBid, $"host {host} asks more than your bids. {Said(m.Reasons)}");
    }

    public static string ReasonText(MismatchReason r) => MismatchText.Code(r);

    // ---- start, resume, stop, suspend (§5.1.4, §6.3.2, §6.3.4) ----

    public Task<Outcome<MachineRow>> StartAsync(string owner, Guid id) => RunAsync(owner, id, MachineAction.Start);
    public Task<Outcome<MachineRow>> ResumeAsync(string owner, Guid id) => RunAsync(owner, id, MachineAction.Resume);

    /// <summary>
    /// Start or resume: design §4 — with no prepaid running time left, one running period is charged first. Checked
    /// here so that a buyer who cannot pay changes nothing; checked again at the commit, which is undone on the agent
    /// if the money went meanwhile.
    /// </summary>
    private async Task<Outcome<MachineRow>> RunAsync(string owner, Guid id, MachineAction action)
    {
        var found = await FindAsync(owner, id);
        if (found.Value is not { } row) return found;
        if (Refuse(row, action) is { } refused) return refused;
        var host = await HostOf(row);
        if (host.Value is not { } h) return host.Failure!;
        if (h.Deleting != 0) return new Failure(ErrorCodes.HostOffline, $"host {h.Name} is being deleted by its provider: the machine is leaving it");
        var now = clock.GetUtcNow();
        var balance = await db.ReadAsync(c => ledger.BalanceAsync(c, null, owner));
        if (balance.Dollars < 0) return NegativeBalance(balance);
        if (ChargePlan.Due(row.Bill, BillingOccasion.Start, now, balance).Unpaid is { } unpaid)
            return new Failure(ErrorCodes.InsufficientFunds, $"running for {Plain.Duration(row.RunningPeriodSecondsValue)} costs {Plain.Exact(unpaid.Amount)} and your balance is {Plain.Exact(balance)}");

        // Issue 14: the machine's forwarded ports are allocated with the claim, so a host whose range is exhausted refuses
        // the start (no-ports) and nothing changes, and two starts never get the same port. A port another program holds on
        // the host (one the kernel lent to an outgoing connection, say) is refused by the agent before it changes anything
        // (port-busy): the action is tried again with other ports, a few times.
        var avoid = new HashSet<int>();
        Failure? busy = null;
        for (var attempt = 1; ; attempt++)
        {
            var claimed = await writer.ClaimAsync(row, action == MachineAction.Start ? IntentAction.Start : IntentAction.Resume, h.Name,
                (c, tx) => ports.AllocateAsync(c, tx, row.Id, h.Name, avoid));
            // No port left but those found held: the held port is the reason to tell.
            if (claimed.Value is not { } intent) return busy is not null && claimed.Failure!.Code == ErrorCodes.NoPorts ? busy : claimed.Failure!;
            var given = await db.ReadAsync(c => PortForwards.OfAsync(c, row.Id));
            var done = await actions.PerformAsync(intent);
            busy = done.Failure;
            if (done.Failure is not { AgentCode: ErrorCodes.PortBusy } || attempt == PortBusyAttempts)
                return Done(done);
            avoid.UnionWith(given.Select(f => f.HostPort));
            found = await FindAsync(owner, id);
            if (found.Value is not { } again) return found;
            if (Refuse(again, action) is { } refusedNow) return refusedNow; // another request moved it meanwhile
            row = again;
        }
    }

    /// <summary>How many times a start or resume is tried when the host's agent finds its forwarded ports held by another program.</summary>
    internal const int PortBusyAttempts = 3;

    public Task<Outcome<MachineRow>> StopAsync(string owner, Guid id) => PauseAsync(owner, id, MachineAction.Stop);
    public Task<Outcome<MachineRow>> SuspendAsync(string owner, Guid id) => PauseAsync(owner, id, MachineAction.Suspend);

    /// <summary>Stop or suspend: version + 1 on both sides; prepaid running time is kept (design §4). A failure leaves it running (§6.3.4).</summary>
    private async Task<Outcome<MachineRow>> PauseAsync(string owner, Guid id, MachineAction action)
    {
        var found = await FindAsync(owner, id);
        if (found.Value is not { } row) return found;
        if (Refuse(row, action) is { } refused) return refused;
        var host = await HostOf(row);
        if (host.Value is not { } h) return host.Failure!;
        var claimed = await writer.ClaimAsync(row, action == MachineAction.Stop ? IntentAction.Stop : IntentAction.Suspend, h.Name);
        if (claimed.Value is not { } intent) return claimed.Failure!;
        return Done(await actions.PerformAsync(intent));
    }

    /// <summary>
    /// The billing daemon found a running period the buyer cannot pay (design §4): suspend instead of charging.
    /// A failure leaves the machine running; the next pass tries again.
    /// </summary>
    public async Task SuspendUnpaidAsync(AccountName owner, MachineId id, string why)
    {
        var result = await SuspendAsync(owner, id);
        await events.AppendAsync(result.Ok ? "suspended-unpaid" : "error", id, owner,
            result.Ok ? $"suspended instead of charged: {why}" : $"could not suspend for lack of funds ({why}): {result.Failure!.Message}");
    }

    // ---- delete ----

    public async Task<Failure?> DeleteAsync(string owner, Guid id)
    {
        var found = await FindAsync(owner, id);
        if (found.Value is not { } row) return found.Failure;
        if (Refuse(row, MachineAction.Delete) is { } refused) return refused;
        if (row.Host is not null)
        {
            var host = await HostOf(row);
            if (host.Value is not { } h) return host.Failure;
            var claimed = await writer.ClaimAsync(row, IntentAction.Delete, h.Name);
            if (claimed.Value is not { } intent) return claimed.Failure;
            return (await actions.PerformAsync(intent)).Failure;
        }
        return await db.WriteAsync<Failure?>(async (c, tx) =>
        {
            var n = await c.ExecuteAsync("DELETE FROM machines WHERE id=@id AND version=@version AND state=@state AND intent IS NULL", new { id = row.Id, version = row.Version, state = MachineRow.StateText(row.State) }, tx);
            if (n == 0) return await MachineWriter.BusyOrChangedAsync(c, tx, row.Id);
            await events.AppendAsync(c, tx, "deleted", id, owner, $"deleted {row.Name}");
            return null;
        }, f => f is null);
    }

    // ---- forwarded ports (issue 14) ----

    /// <summary>Forward guest port <paramref name="port"/> too, from the next start or resume.</summary>
    public async Task<Outcome<MachineRow>> AddPortAsync(string owner, Guid id, int port)
    {
        var found = await FindAsync(owner, id);
        if (found.Value is not { } row) return found;
        return await ports.AddAsync(row, port) is { } f ? f : row;
    }

    /// <summary>Stop forwarding guest port <paramref name="port"/>, from the next start or resume.</summary>
    public async Task<Outcome<MachineRow>> RemovePortAsync(string owner, Guid id, int port)
    {
        var found = await FindAsync(owner, id);
        if (found.Value is not { } row) return found;
        return await ports.RemoveAsync(row, port) is { } f ? f : row;
    }

    /// <summary>The machine as its owner sees it, with how it is reached (<see cref="PortForwards"/>).</summary>
    public async Task<MachineResponse> DescribeAsync(MachineRow row)
    {
        var attachment = await db.ReadAsync(c => NetworkService.OfAsync(c, row.Id.Value));
        return row.ToResponse(await ports.ReachAsync(row.Id)) with
        {
            Cdrom = await db.ReadAsync(c => Isos.IsoService.CdromOfAsync(c, row.Id.Value)),
            Network = attachment?.Network.Name, PrivateAddress = attachment?.Address,
        };
    }

    /// <summary>The owner's machines as they see them.</summary>
    public async Task<IReadOnlyList<MachineResponse>> DescribeAllAsync(string owner)
    {
        var rows = await ListAsync(owner);
        var reach = await ports.ReachOfOwnerAsync(new AccountName(owner));
        var cdroms = await db.ReadAsync(c => Isos.IsoService.CdromsOfAsync(c, owner));
        var places = await db.ReadAsync(c => NetworkService.OfOwnerAsync(c, owner));
        return rows.Select(m => m.ToResponse(reach.GetValueOrDefault(m.Id)) with
        {
            Cdrom = cdroms.GetValueOrDefault(m.Id.Value),
            Network = places.TryGetValue(m.Id.Value, out var p) ? p.Network : null,
            PrivateAddress = places.TryGetValue(m.Id.Value, out var q) ? q.Address : null,
        }).ToList();
    }

    public async Task<Outcome<string>> SerialAsync(string owner, Guid id)
    {
        var found = await FindAsync(owner, id);
        if (found.Value is not { } row) return found.Failure!;
        if (row.Host is null) return new Failure(ErrorCodes.InvalidState, "the machine is registered only: it has no console until it is stored");
        var host = await HostOf(row);
        if (host.Value is not { } h) return host.Failure!;
        return await agents.SerialAsync(h, id);
    }

    // ---- helpers ----

    /// <summary>The refusal of <paramref name="action"/> in the machine's state (design §3.3), or null when allowed; the web shows the same.</summary>
    internal static Failure? Refuse(MachineRow row, MachineAction action) =>
        StateTable.Decide(row.State, action) is null
            ? new Failure(ErrorCodes.InvalidState,
                $"cannot {MachineRow.ActionText(action)} a machine that is {row.StoredState}; allowed: {string.Join(", ", MachineRow.OfferedActions(row.State))}")
            : row.Intent is not null && action is not (MachineAction.Search or MachineAction.MigrationStatus)
                ? new Failure(ErrorCodes.Busy, $"the machine is busy: another action on it is in progress; try again in a few seconds")
                : null;

    private static Failure Changed() => MachineWriter.Changed();

    private static Failure NegativeBalance(Money balance) =>
        new(ErrorCodes.NegativeBalance, $"your balance is {Plain.Exact(balance)}: deposit funds before storing or starting machines");

    private async Task<Outcome<HostRow>> HostOf(MachineRow row)
    {
        var host = await db.ReadAsync(c => HostQueries.ByNameAsync(c, row.Host!));
        return host is null ? Failure.NotFound($"host '{row.Host}'") : host;
    }
}

/// <summary>A row of <c>configurations</c>.</summary>
internal sealed class ConfigRow
{
    public string Name { get; set; } = "";
    public string Processor { get; set; } = "";
    public long Speed { get; set; }
    public string Os { get; set; } = "";
    public long Memory { get; set; }
    public long Disk { get; set; }
    public string? Image { get; set; }
    public long? MinMemory { get; set; }
    public long? MinDisk { get; set; }
    public decimal? EstStorageRate { get; set; }
    public decimal? EstRunningRate { get; set; }
    public long Sort { get; set; }

    public MachineSpec Spec => new(new Bogomips(Speed), new Megabytes(Memory), new Megabytes(Disk));
}

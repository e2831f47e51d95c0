using Virtuoso.Contracts.Api;
using Virtuoso.Core;
using Virtuoso.Core.Billing;
using Virtuoso.Core.Machines;
using Virtuoso.Core.Accounts;

namespace Virtuoso.FrontEnd.Machines;

/// <summary>A row of <c>machines</c> (the report's vm table, §6.1.6, plus the pairing and billing state).</summary>
internal sealed class MachineRow
{
    public MachineId Id { get; set; }
    public AccountName Owner { get; set; }
    public string Name { get; set; } = "";
    public string Processor { get; set; } = "";
    public long Speed { get; set; }
    public long Memory { get; set; }
    public long Disk { get; set; }
    public string Os { get; set; } = "";
    public string? Image { get; set; }
    public string Mac { get; set; } = "";
    public MachineState State { get; set; }
    public long Version { get; set; }
    public string? Host { get; set; }
    public Money StorageBid { get; set; }
    public Money RunningBid { get; set; }
    public Money? StoragePrice { get; set; }
    public long? StoragePeriodDays { get; set; }
    public Money? RunningPrice { get; set; }
    public long? RunningPeriodSeconds { get; set; }
    public long Stay { get; set; }
    public DateTimeOffset? ArrivedAt { get; set; }
    public long StoragePeriodsCharged { get; set; }
    public long RunningPeriodsCharged { get; set; }
    public decimal RunningSecondsUsed { get; set; }
    public DateTimeOffset? RunningSince { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? NextStorageAt { get; set; }
    public DateTimeOffset? RunningDueAt { get; set; }
    /// <summary>The open intent that holds the machine (issue 13), or null; while set, other actions answer busy.</summary>
    public Guid? Intent { get; set; }
    /// <summary>Set while the machine's host is down (issue 13): its last sign of life; running time is not consumed meanwhile.</summary>
    public DateTimeOffset? HostOfflineSince { get; set; }
    /// <summary>The CPU share its agent enforces, in thousandths of a core (issue 17); null until the agent has reported it.</summary>
    public long? CpuMillicores { get; set; }
    public long? Vcpus { get; set; }
    /// <summary>CPU its QEMU used over the agent's last few seconds, thousandths of a core; meaningful while running.</summary>
    public long? CpuUsedMillicores { get; set; }
    public long? MemoryUsedMb { get; set; }
    /// <summary>What the open intent is doing right now ("fetching image 43%", issue 15); shown only while it is open.</summary>
    public string? Activity { get; set; }
    /// <summary>The id of the private network it is attached to (issue 16); null for a machine registered before networks, until first needed.</summary>
    public long? Network { get; set; }
    /// <summary>Its fixed IPv4 address on <see cref="Network"/>, kept across stops and migrations.</summary>
    public string? PrivateAddress { get; set; }
    /// <summary>The name of <see cref="Network"/>, when the code that loaded the row looked it up (not a column).</summary>
    public string? NetworkName { get; set; }

    public const string Columns = "id, owner, name, processor, speed, memory, disk, os, image, mac, state, version, host, storage_bid, running_bid, " +
        "storage_price, storage_period_days, running_price, running_period_seconds, stay, arrived_at, storage_periods_charged, " +
        "running_periods_charged, running_seconds_used, running_since, created_at, next_storage_at, running_due_at, intent, host_offline_since, " +
        "cpu_millicores, vcpus, cpu_used_millicores, memory_used_mb, activity, network, private_address";

    /// <summary>The state as its column stores it, for parameters: Dapper binds an enum parameter as its number.</summary>
    public string StoredState => StateText(State);
    public long StoragePeriodDaysValue => StoragePeriodDays ?? throw new InvalidOperationException($"machine {Id} is not on a host");
    public long RunningPeriodSecondsValue => RunningPeriodSeconds ?? throw new InvalidOperationException($"machine {Id} is not on a host");
    public MachineSpec Spec => new(new Bogomips(Speed), new Megabytes(Memory), new Megabytes(Disk));

    /// <summary>What its stay on its host is billed from (<see cref="ChargePlan"/>); only for a machine on a host.</summary>
    public MachineBill Bill => new(Id, Stay, ArrivedAt ?? throw new InvalidOperationException($"machine {Id} is not on a host"),
        StoragePeriodDaysValue, StoragePrice!.Value, StoragePeriodsCharged, RunningPeriodSecondsValue, RunningPrice!.Value, RunningTime);

    public RunningTime RunningTime => new(RunningPeriodsCharged, RunningSecondsUsed, RunningSince);

    /// <summary>
    /// Actions this front-end offers: every action of the state table (an action is listed only once its issue has
    /// landed, so a client never sees an action it cannot take).
    /// </summary>
    private static readonly HashSet<MachineAction> Offered =
    [
        MachineAction.Search, MachineAction.Edit, MachineAction.Store, MachineAction.Start, MachineAction.Stop,
        MachineAction.Suspend, MachineAction.Resume, MachineAction.Delete, MachineAction.Migrate, MachineAction.MigrationStatus, MachineAction.Console,
    ];

    /// <summary>The actions a machine in <paramref name="state"/> allows that this API offers, as the API names them.</summary>
    public static IReadOnlyList<string> OfferedActions(MachineState state) =>
        StateTable.Allowed(state).Where(Offered.Contains).Select(ActionText).ToList();

    public static string StateText(MachineState s) => s.ToString().ToLowerInvariant();
    public static string ActionText(MachineAction a) => a switch
    {
        MachineAction.MigrationStatus => "migration-status",
        _ => a.ToString().ToLowerInvariant(),
    };

    /// <param name="reach">How it is reached (issue 14): shown while it runs; null: not asked.</param>
    public MachineResponse ToResponse(MachineReach? reach = null)
    {
        var running = State == MachineState.Running && reach is { Forwards.Count: > 0, PublicAddress: not null };
        var ssh = running ? reach!.Forwards.Where(f => f.GuestPort == PortForwarding.Ssh).Select(f => new SshEndpoint(reach.PublicAddress!, f.HostPort)).FirstOrDefault() : null;
        var forwarded = running ? reach!.Forwards.ToDictionary(f => f.GuestPort.ToString(System.Globalization.CultureInfo.InvariantCulture), f => $"{reach.PublicAddress}:{f.HostPort}") : null;
        var storagePrice = StoragePrice?.Dollars;
        var runningPrice = RunningPrice?.Dollars;
        return new MachineResponse(Id, Name, Processor, Speed, Memory, Disk, Os, Image, Mac, StateText(State), Version, Host, Owner,
            StorageBid.Dollars, RunningBid.Dollars,
            storagePrice, StoragePeriodDays, runningPrice, RunningPeriodSeconds,
            storagePrice is { } sp && StoragePeriodDays is { } sd ? sp * 30 / sd : null,
            runningPrice is { } rp && RunningPeriodSeconds is { } rs ? rp * 3600 / rs : null,
            Intent is null ? OfferedActions(State) : [], Intent is not null, HostOfflineSince is not null,
            ssh, forwarded, reach?.ExtraPorts ?? [],
            CpuMillicores / 1000m, (int?)Vcpus,
            State == MachineState.Running && HostOfflineSince is null ? CpuUsedMillicores / 1000m : null,
            State == MachineState.Running && HostOfflineSince is null ? MemoryUsedMb : null,
            Activity: Intent is not null ? Activity : null,
            Network: PrivateAddress is null ? null : NetworkName, PrivateAddress: NetworkName is null ? null : PrivateAddress);
    }
}

namespace Virtuoso.Contracts.Api;

/// <summary>GET /api/v1/configurations: a standard (blank) or preconfigured configuration with market estimates.</summary>
/// <param name="Image">The installed OS image of a preconfigured configuration; null for a blank machine.</param>
/// <param name="EstimatedStorageRate">Market mean, dollars per month; null until a host has room.</param>
/// <param name="EstimatedRunningRate">Market mean, dollars per hour; null until a host has room.</param>
/// <param name="ImageInfo">The image as the front-end's catalogue holds it (issue 15); null for a blank machine, or when the
/// catalogue lacks it.</param>
public sealed record ConfigurationResponse(
    string Name, string Processor, long Speed, string Os, long Memory, long Disk,
    string? Image, long? MinMemory, long? MinDisk,
    decimal? EstimatedStorageRate, decimal? EstimatedRunningRate, ImageResponse? ImageInfo = null);

/// <summary>GET /api/v1/images: a preconfigured base image of the catalogue (issue 15).</summary>
/// <param name="Os">The OS it holds, as its build labels it ("Debian GNU/Linux 12 (bookworm)").</param>
/// <param name="MinMemory">MB of memory it needs to boot.</param>
/// <param name="MinDisk">MB of disk it needs (a larger disk: the root filesystem grows to it at first boot where the image does that).</param>
/// <param name="Size">Bytes a host fetches the first time it stores a machine of it.</param>
/// <param name="Sha256">SHA-256 of its disk file.</param>
public sealed record ImageResponse(string Name, string Os, long MinMemory, long MinDisk, long Size, string Sha256);

/// <summary>
/// POST /api/v1/machines: register a machine, either from a configuration (<paramref name="Config"/>, with
/// optional overrides) or fully custom. Bids: storage dollars per month, running dollars per hour.
/// </summary>
/// <param name="Network">Issue 16: the name of the caller's private network the machine joins; null: <c>default</c>.</param>
public sealed record RegisterRequest(
    string? Config, string? Name, string? Processor, long? Speed, long? Memory, long? Disk, string? Os,
    decimal StorageBid, decimal RunningBid, string? Network = null);

/// <summary>PATCH /api/v1/machines/{id}: edit a registered machine; null fields stay as they are.</summary>
/// <param name="Cdrom">The name of one of the caller's ISOs to put in the machine's CD drive, or <c>none</c> to eject
/// (issue 15). Alone, allowed on a registered, stored or stopped machine (not a running or suspended one: stop it first);
/// with other fields, on a registered machine only, as every edit.</param>
/// <param name="Network">Issue 16: the name of one of the caller's private networks to move the machine to (a new private
/// address from its subnet). Like <paramref name="Cdrom"/>: alone, on a registered, stored or stopped machine.</param>
public sealed record EditMachineRequest(
    string? Name, string? Processor, long? Speed, long? Memory, long? Disk, string? Os,
    decimal? StorageBid, decimal? RunningBid, string? Cdrom = null, string? Network = null);

/// <summary>POST /api/v1/machines/{id}/store.</summary>
public sealed record StoreRequest(string Host);

/// <summary>A machine as its owner sees it, with the actions its state allows.</summary>
/// <param name="Version">Grows by one on store, stop, suspend and migration (report §4).</param>
/// <param name="StoragePrice">Once stored: the charge per storage period, fixed at store time.</param>
/// <param name="RunningPrice">Once stored: the charge per running period, fixed at store time.</param>
/// <param name="Busy">An action on the machine is under way (started, not yet committed or undone): no action is offered
/// and every one answers 409 <c>busy</c> until it ends, usually within seconds.</param>
/// <param name="HostOffline">The machine's host has not answered for longer than the grace period: a running machine is
/// not charged running time until it answers again (then the guest is found running, or recorded stopped).</param>
/// <param name="Ssh">While running: where the guest's SSH port is reached (<c>ssh -p PORT root@ADDRESS</c>); else null.</param>
/// <param name="Ports">While running: every forwarded guest port (as text, e.g. "22") → "address:port" on the host; else null.</param>
/// <param name="ExtraPorts">The guest ports the owner asked to have forwarded besides SSH (at most 5), applied from the
/// next start or resume: a port asked for while the machine runs is in <paramref name="Ports"/> only after that.</param>
/// <param name="CpuShare">Cores of CPU time the machine may use (design §12: its speed ÷ the host's total × the host's
/// cores), enforced by its host's kernel; null until its host has reported it.</param>
/// <param name="Vcpus">Virtual CPUs the guest sees: the share rounded up to whole cores.</param>
/// <param name="CpuUsed">While running: cores of CPU its QEMU used over the host's last few seconds of accounting.</param>
/// <param name="MemoryUsedMb">While running: memory its QEMU holds, guest and QEMU's own.</param>
/// <param name="Network">Issue 16: the owner's private network the machine is attached to.</param>
/// <param name="PrivateAddress">Its fixed IPv4 address on <paramref name="Network"/>, kept across stops and migrations.</param>
/// <param name="Cdrom">The name of the owner's ISO in its CD drive (it boots from it first), or null.</param>
public sealed record MachineResponse(
    Guid Id, string Name, string Processor, long Speed, long Memory, long Disk, string Os, string? Image,
    string Mac, string State, long Version, string? Host, string Owner,
    decimal StorageBid, decimal RunningBid,
    decimal? StoragePrice, long? StoragePeriodDays, decimal? RunningPrice, long? RunningPeriodSeconds,
    decimal? StorageRate, decimal? RunningRate,
    IReadOnlyList<string> Actions, bool Busy = false, bool HostOffline = false,
    SshEndpoint? Ssh = null, IReadOnlyDictionary<string, string>? Ports = null, IReadOnlyList<int>? ExtraPorts = null,
    decimal? CpuShare = null, int? Vcpus = null, decimal? CpuUsed = null, long? MemoryUsedMb = null, string? Cdrom = null, string? Activity = null,
    string? Network = null, string? PrivateAddress = null);

/// <summary>Where a running machine's SSH server is reached: its host's public address and the host port forwarded to guest port 22.</summary>
public sealed record SshEndpoint(string Address, int Port);

/// <summary>POST /api/v1/machines/{id}/ports: forward this guest port too (1–65535, not 22), from the next start or resume.</summary>
public sealed record PortRequest(int Port);

/// <summary>GET /api/v1/machines/{id}/search: one host judged for the machine.</summary>
/// <param name="StorageRate">Dollars per month.</param>
/// <param name="RunningRate">Dollars per hour.</param>
/// <param name="Reasons">Why the host does not match (empty when it does): offline, not-enough-speed, …</param>
/// <param name="MonthlyTotal">Issue 18: what the host costs a month for <paramref name="Hours"/> hours of running:
/// <paramref name="StorageRate"/> + <paramref name="RunningRate"/> × hours, exact. Results are sorted by it, cheapest first
/// (matching hosts first).</param>
/// <param name="Hours">The hours a month the total assumes: the request's <c>?hours=</c>, else 730 (always on).</param>
/// <param name="Explanations">Each of <paramref name="Reasons"/> as a sentence, in the same order.</param>
public sealed record SearchResult(
    string Host, string Processor, string Address, bool Matches,
    decimal StorageRate, decimal RunningRate,
    decimal StorageCharge, long StoragePeriodDays, decimal RunningCharge, long RunningPeriodSeconds,
    IReadOnlyList<string> Reasons, decimal MonthlyTotal = 0, decimal Hours = 0, IReadOnlyList<string>? Explanations = null);

/// <summary>
/// GET /api/v1/machines/{id}/forfeit (issue 18): what deleting the machine now gives up. Paid storage is not refunded and
/// prepaid running time is lost (design §4); nothing more is charged. All zero for a machine on no host.
/// </summary>
/// <param name="Storage">The paid storage not yet used, pro rata to the second, rounded to the cent.</param>
/// <param name="StoragePaidUntil">The end of the storage period last charged; null on no host.</param>
/// <param name="RunningSeconds">Prepaid running seconds left.</param>
/// <param name="Running">Their value, pro rata of the running price, rounded to the cent.</param>
/// <param name="ChargedNow">What leaving charges first (periods begun but not charged yet): zero for a deletion.</param>
public sealed record ForfeitResponse(Guid Machine, string? Host, decimal Storage, DateTimeOffset? StoragePaidUntil,
    decimal RunningSeconds, decimal Running, decimal Total, decimal ChargedNow);

/// <summary>GET /api/v1/events: an append-only event (design §8).</summary>
/// <param name="Origin"><c>front-end</c>, or <c>agent</c> for an event a host's agent wrote and the front-end gathered (issue 19).</param>
/// <param name="Account">Who sees it besides the operator; null: the operator only.</param>
/// <param name="Host">For an agent's event, the host whose agent wrote it; null for the front-end's own.</param>
public sealed record EventResponse(long Seq, DateTimeOffset At, string Origin, string Kind, Guid? Machine, string? Account, string Message, string? Host = null);

/// <summary>
/// POST /api/v1/machines/{id}/console: a console session of a running machine (design §7). Open
/// <paramref name="WebSocketPath"/> on the front-end (same origin) before <paramref name="ExpiresAt"/>, and speak RFB
/// through it with <paramref name="Password"/> (VNC authentication). The ticket works once; a later session of the same
/// machine takes over from this one (§6.1.8).
/// </summary>
/// <param name="Ticket">One-time, short-lived; only its hash is stored.</param>
/// <param name="Password">This session's VNC password, fresh and random (never the account's password).</param>
/// <param name="WebSocketPath">The front-end's console WebSocket with the ticket, e.g. <c>/console/ws?ticket=...</c>.</param>
public sealed record ConsoleTicketResponse(Guid Machine, string Ticket, string Password, string WebSocketPath, DateTimeOffset ExpiresAt);

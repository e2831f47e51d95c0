namespace Virtuoso.Core.Machines;

/// <summary>What to record when the host of a running machine answers again after an outage.</summary>
public enum OutageEnd
{
    /// <summary>The guest kept running: running time is consumed (and charged) again from now.</summary>
    Resume,
    /// <summary>The guest died meanwhile (the host rebooted, QEMU was killed): stopped at the same version, prepaid time kept.</summary>
    Stopped,
    /// <summary>The agent holds something else (another version, no machine): leave it offline and say so; an operator looks.</summary>
    Unexplained,
}

/// <summary>
/// Hosts that go offline (issue 13): a running machine whose host has not answered for longer than the grace period is
/// not charged running periods that begin while the host is unreachable — its running time stops at the host's last
/// sign of life — and when the host answers the truth is recorded by <see cref="Decide"/>. Storage is charged throughout.
/// </summary>
public static class HostOutage
{
    /// <summary>Whether a host last seen at <paramref name="lastSeen"/> counts as down at <paramref name="now"/>.</summary>
    public static bool IsDown(DateTimeOffset? lastSeen, DateTimeOffset now, TimeSpan grace) => lastSeen is not { } seen || now - seen > grace;

    /// <summary>The end of an outage of a machine the front-end has running at <paramref name="version"/>, given what its agent holds.</summary>
    public static OutageEnd Decide(long version, HostView held) => held switch
    {
        { Answered: true, State: HostState.Running } when held.Version == version => OutageEnd.Resume,
        { Answered: true, State: HostState.Stopped } when held.Version == version => OutageEnd.Stopped,
        _ => OutageEnd.Unexplained,
    };
}

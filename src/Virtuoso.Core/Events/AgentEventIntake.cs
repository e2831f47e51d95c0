namespace Virtuoso.Core.Events;

/// <summary>Who sees an event an agent wrote, once the front-end has gathered it (issue 19 point 3, design §8).</summary>
public enum AgentEventAudience
{
    /// <summary>The operator only: the host's own detail (each VMMP message, the phases of a migration, the commands the
    /// front-end itself records as it makes them).</summary>
    Operator,
    /// <summary>The owner of the machine it is about, and the operator.</summary>
    MachineOwner,
    /// <summary>The provider whose host wrote it, and the operator.</summary>
    HostOwner,
}

/// <summary>
/// How an agent's event enters the front-end's log: who sees it, and the time it is listed at. Pure: the collector
/// (<c>FrontEnd/Events/EventCollector.cs</c>) asks, then stores.
/// </summary>
public static class AgentEventIntake
{
    /// <summary>
    /// The agent kinds its machine's owner sees. The front-end records every command it makes (started, stopped, stored,
    /// migrated, …) itself, in words for people; of the agent's own record the owner gains only what the front-end does not
    /// see: the host finding the machine failed, and the host recovering it after the agent restarted.
    /// </summary>
    public static readonly IReadOnlySet<string> OwnerKinds = new HashSet<string>(StringComparer.Ordinal) { "failed", "recovered" };

    /// <summary>The agent kinds about the host itself that its provider sees: which accelerator the host runs machines with, and why.</summary>
    public static readonly IReadOnlySet<string> ProviderKinds = new HashSet<string>(StringComparer.Ordinal) { "accelerator" };

    /// <summary>
    /// Who sees an event of <paramref name="kind"/>: about a machine the front-end knows (<paramref name="machineKnown"/>), its
    /// owner for <see cref="OwnerKinds"/>; about the host (no machine), its provider for <see cref="ProviderKinds"/>; all else the
    /// operator alone (vmmp lines would flood a buyer's page, and a machine the front-end does not know has no owner to tell).
    /// </summary>
    public static AgentEventAudience AudienceOf(string kind, bool aboutMachine, bool machineKnown) =>
        aboutMachine
            ? machineKnown && OwnerKinds.Contains(kind) ? AgentEventAudience.MachineOwner : AgentEventAudience.Operator
            : ProviderKinds.Contains(kind) ? AgentEventAudience.HostOwner : AgentEventAudience.Operator;

    /// <summary>
    /// The time an agent's event is listed at: the agent's own, unless that is earlier than the time of the host's previous
    /// event (its clock was set back), which it then keeps. So a host's events, listed by time, stay in the order the agent
    /// wrote them, while events of different hosts (a machine that migrated) are ordered by their hosts' clocks.
    /// </summary>
    public static DateTimeOffset ListedAt(DateTimeOffset agentTime, DateTimeOffset previous) => agentTime < previous ? previous : agentTime;
}

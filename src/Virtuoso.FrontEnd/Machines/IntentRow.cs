using Virtuoso.Core.Accounts;
using Virtuoso.Core.Machines;

namespace Virtuoso.FrontEnd.Machines;

/// <summary>A row of <c>machine_intents</c>: an action recorded before its agent call (issue 13, design §5).</summary>
internal sealed class IntentRow
{
    public Guid Id { get; set; }
    public MachineId Machine { get; set; }
    public AccountName Owner { get; set; }
    public string Action { get; set; } = "";
    public string Host { get; set; } = "";
    public long FromVersion { get; set; }
    public long ToVersion { get; set; }
    public long Undoing { get; set; }
    public string? Reason { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset LeaseUntil { get; set; }
    public long Attempts { get; set; }
    public string? LastError { get; set; }

    public const string Columns = "id, machine, owner, action, host, from_version, to_version, undoing, reason, created_at, lease_until, attempts, last_error";

    public IntentAction Kind => Enum.Parse<IntentAction>(Action, ignoreCase: true);
    public Intent Plan => new(Kind, FromVersion, ToVersion, Undoing != 0);

    public static string Text(IntentAction a) => a.ToString().ToLowerInvariant();

    /// <summary>What the buyer reads while the machine is busy: "start in progress", "start being undone".</summary>
    public string Describe() => $"{Action} {(Undoing != 0 ? "being undone" : "in progress")}";
}

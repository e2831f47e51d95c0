namespace Virtuoso.FrontEnd.Console;

/// <summary>Console settings (section "Virtuoso:Console"; environment <c>Virtuoso__Console__TicketSeconds</c>...).</summary>
internal sealed class ConsoleOptions
{
    public const string Section = "Virtuoso:Console";

    /// <summary>How long a console ticket may wait before its WebSocket is opened (design §7: seconds).</summary>
    public double TicketSeconds { get; set; } = 30;

    /// <summary>Where Debian's <c>novnc</c> package put noVNC; served at <c>/novnc/</c>.</summary>
    public string NoVncPath { get; set; } = "/usr/share/novnc";

    public TimeSpan TicketLifetime => TimeSpan.FromSeconds(TicketSeconds);
}

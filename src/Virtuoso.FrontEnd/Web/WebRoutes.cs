namespace Virtuoso.FrontEnd.Web;

/// <summary>
/// The web's addresses in one place. A machine links to <see cref="Migrate"/>, <see cref="Migration"/> and
/// <see cref="Console"/> when its actions (<c>MachineRow.OfferedActions</c>) include migrate, migration-status or
/// console; the console page is <c>Web/Machines/Console.cshtml</c>.
/// </summary>
internal static class WebRoutes
{
    public static string Machine(Guid id) => $"/machines/{id:D}";
    public static string Search(Guid id) => $"/machines/{id:D}/search";
    public static string Edit(Guid id) => $"/machines/{id:D}/edit";
    public static string Act(Guid id, string verb) => $"/machines/{id:D}/{verb}";
    public static string Serial(Guid id) => $"/machines/{id:D}/serial";
    public static string Console(Guid id) => $"/machines/{id:D}/console";
    /// <summary>The delete confirmation (GET) and the deletion itself (POST, from that page's form).</summary>
    public static string Delete(Guid id) => $"/machines/{id:D}/delete";
    public static string Migrate(Guid id) => $"/machines/{id:D}/migrate";
    public static string Migration(Guid id) => $"/machines/{id:D}/migration";
    public static string Register(string? config) => config is null ? "/machines/register" : $"/machines/register?config={Uri.EscapeDataString(config)}";
    public static string EditHost(string name) => $"/hosts/{Uri.EscapeDataString(name)}/edit";
    public static string DeleteHost(string name) => $"/hosts/{Uri.EscapeDataString(name)}/delete";
}

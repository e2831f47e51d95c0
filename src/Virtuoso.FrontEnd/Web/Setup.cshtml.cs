namespace Virtuoso.FrontEnd.Web;

/// <summary>How a provider installs and starts an agent on a new host (report §3.5, §5.2.2; Figure 25). No login needed.</summary>
internal sealed class SetupModel : WebPage
{
    public void OnGet() { }
}

namespace Virtuoso.FrontEnd.Web;

/// <summary>Home (Figure 3): the set-up link is visible without logging in.</summary>
internal sealed class IndexModel : WebPage
{
    public void OnGet() { }
}

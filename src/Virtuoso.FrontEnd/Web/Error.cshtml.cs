using Microsoft.AspNetCore.Mvc;

namespace Virtuoso.FrontEnd.Web;

/// <summary>The page shown for an empty error answer of a web path (status code pages re-execute here).</summary>
[IgnoreAntiforgeryToken]
internal sealed class ErrorModel : WebPage
{
    public int Status { get; private set; }
    public string Heading { get; private set; } = "";
    public string Explanation { get; private set; } = "";

    public void OnGet(int? status) => Describe(status);
    public void OnPost(int? status) => Describe(status);

    private void Describe(int? status)
    {
        // Re-executed for an empty error answer: keep its status. Visited directly: answer with the status asked about.
        Status = status ?? 404;
        Response.StatusCode = Status;
        (Heading, Explanation) = Status switch
        {
            400 => ("The form could not be accepted", "The form was incomplete, or it expired or did not come from this site (its anti-forgery token was missing or stale). Reload the page and try again."),
            403 => ("Not for this kind of account", "This page is for another kind of account: buyers rent machines, providers sell hosts. Switch user to continue."),
            404 => ("Not found", "There is no such page, or nothing of yours by that name."),
            405 => ("Not allowed", "This address only accepts the form it belongs to."),
            429 => ("Too many attempts", "Too many log-in attempts from here in the last minute. Wait a minute and try again."),
            _ => ("Something went wrong", $"The request failed with status {Status}."),
        };
    }
}

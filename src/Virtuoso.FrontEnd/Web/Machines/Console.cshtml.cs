using Microsoft.AspNetCore.Mvc;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Console;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>
/// The machine's console in the browser (design §7; report §6.1.8, Figure 15): the owner's page, whose script asks
/// for a one-time ticket (POST, with the anti-forgery token) and shows the guest's screen with noVNC.
/// </summary>
internal sealed class ConsoleModel(MachineService machines, ConsoleService consoles) : WebPage
{
    public MachineResponse? Machine { get; private set; }

    public async Task<IActionResult> OnGetAsync(Guid id)
    {
        var found = await machines.FindAsync(Me, id);
        if (found.Failure is { } f) return Fail(f);
        Machine = found.Value!.ToResponse();
        if (!Machine.Actions.Contains("console"))
            return Fail(new Failure(ErrorCodes.InvalidState,
                $"cannot open the console of a machine that is {Machine.State}; allowed: {string.Join(", ", Machine.Actions)}"));
        // Scripts only from this site (the page's own and noVNC's modules); the WebSocket only to this site.
        Response.Headers.ContentSecurityPolicy = ConsoleEndpoints.ContentSecurityPolicy;
        return Page();
    }

    /// <summary>POST /machines/{id}/console?handler=ticket: the ticket as JSON, exactly as POST /api/v1/machines/{id}/console answers.</summary>
    public async Task<IActionResult> OnPostTicketAsync(Guid id)
    {
        var ticket = await consoles.TicketAsync(Me, id);
        if (ticket.Failure is { } f)
            return new JsonResult(new { title = Failure.TitleOf(f.Code), detail = f.Message, status = f.Status, code = f.Code })
                { StatusCode = f.Status, ContentType = "application/problem+json" };
        return new JsonResult(ticket.Value);
    }
}

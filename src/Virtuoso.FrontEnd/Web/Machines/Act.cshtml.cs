using Microsoft.AspNetCore.Mvc;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Machines;

namespace Virtuoso.FrontEnd.Web.Machines;

/// <summary>
/// The buttons of a machine (design §3.3): store, start, stop, suspend, resume, posted as forms (delete has its own
/// confirmation page, <see cref="DeleteModel"/>). The same
/// MachineService calls as the API's, so the same refusals: a machine of someone else answers "machine not found".
/// Success goes back where the button was; a refusal is shown here with the API's status and message.
/// </summary>
internal sealed class ActModel(MachineService machines) : WebPage
{
    public string Verb { get; private set; } = "";

    public IActionResult OnGet(Guid id) => Redirect(WebRoutes.Machine(id));

    public async Task<IActionResult> OnPostAsync(Guid id, string verb, string? host, string? returnUrl)
    {
        Verb = verb;
        var done = verb switch
        {
            "store" when string.IsNullOrWhiteSpace(host) => Failure.Validation("choose the host to store the machine on"),
            "store" => await machines.StoreAsync(Me, id, host!),
            "start" => await machines.StartAsync(Me, id),
            "stop" => await machines.StopAsync(Me, id),
            "suspend" => await machines.SuspendAsync(Me, id),
            "resume" => await machines.ResumeAsync(Me, id),
            _ => Failure.NotFound("action"),
        };
        if (done.Failure is { } f) return Fail(f);
        var m = done.Value!;
        Notice = verb switch
        {
            "store" => $"{m.Name} is stored on {m.Host}.",
            "start" => $"{m.Name} is running on {m.Host}.",
            "resume" => $"{m.Name} is running again on {m.Host}.",
            _ => $"{m.Name} is {m.State}.",
        };
        return returnUrl is { Length: > 0 } && Url.IsLocalUrl(returnUrl) ? LocalRedirect(returnUrl) : Redirect("/machines");
    }
}

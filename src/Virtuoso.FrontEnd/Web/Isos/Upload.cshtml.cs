using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Isos;

namespace Virtuoso.FrontEnd.Web.Isos;

/// <summary>
/// POST /isos/upload: the upload form's multipart body read part by part (<see cref="MultipartReader"/>), the file part
/// streamed straight into <see cref="IsoService.UploadAsync"/>, never buffered. The framework's automatic anti-forgery check
/// would read the whole form (file included) to find the token, so it is off here and done by hand: the token is the form's
/// first part, checked before a byte of the file is read.
/// </summary>
[IgnoreAntiforgeryToken]
[NoFormBinding]
internal sealed class UploadModel(IsoService isos, IAntiforgery antiforgery) : WebPage
{
    private const int MaxFieldChars = 4096;

    public IsoListResponse List { get; private set; } = new([], 0, 0);

    public IActionResult OnGet() => Redirect("/isos");

    public async Task<IActionResult> OnPostAsync()
    {
        var ct = HttpContext.RequestAborted;
        IsoEndpoints.AllowAnySize(HttpContext);
        if (!MediaTypeHeaderValue.TryParse(Request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 } boundary)
            return await RefuseAsync(Failure.Validation("send the upload form as multipart/form-data"));

        var reader = new MultipartReader(boundary, Request.Body);
        string? token = null, name = null;
        while (await reader.ReadNextSectionAsync(ct) is { } section)
        {
            var disposition = section.GetContentDispositionHeader();
            if (disposition is null) continue;
            if (disposition.IsFormDisposition())
            {
                var value = await new StreamReader(section.Body).ReadToEndAsync(ct);
                if (value.Length > MaxFieldChars) return await RefuseAsync(Failure.Validation($"the form field {disposition.Name} is too long"));
                switch (disposition.Name.Value)
                {
                    case "__RequestVerificationToken": token = value; break;
                    case "name": name = value.Trim(); break;
                }
                continue;
            }

            if (!disposition.IsFileDisposition()) continue;
            // The anti-forgery store looks at this header before it would read the form.
            if (token is null) return await RefuseAsync(Forged);
            Request.Headers[HeaderNames.RequestVerificationToken] = token;
            if (!await antiforgery.IsRequestValidAsync(HttpContext)) return await RefuseAsync(Forged);
            var isoName = string.IsNullOrEmpty(name) ? IsoService.NameFromFile(disposition.FileName.Value ?? "") : name;
            var uploaded = await isos.UploadAsync(Me, isoName, Request.ContentLength, section.Body, ct, exactLength: false);
            if (uploaded.Failure is { } refused) return await RefuseAsync(refused);
            Notice = $"ISO {uploaded.Value!.Name} uploaded: {Show.Bytes(uploaded.Value.Size)}, SHA-256 {uploaded.Value.Sha256}.";
            return Redirect("/isos");
        }

        return await RefuseAsync(Failure.Validation("choose the ISO file to upload"));
    }

    private static Failure Forged => Failure.Validation("the form's anti-forgery token is missing or invalid (it must come before the file): reload the page and upload again");

    private async Task<IActionResult> RefuseAsync(Failure failure)
    {
        List = await isos.ListAsync(Me);
        return Fail(failure);
    }
}

/// <summary>
/// Keeps model binding from reading the form (its form value providers would read the whole body, file included, before
/// the handler runs): the handler reads the body itself.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
file sealed class NoFormBindingAttribute : Attribute, IResourceFilter
{
    public void OnResourceExecuting(ResourceExecutingContext context)
    {
        var factories = context.ValueProviderFactories;
        factories.RemoveType<FormValueProviderFactory>();
        factories.RemoveType<FormFileValueProviderFactory>();
        factories.RemoveType<JQueryFormValueProviderFactory>();
    }

    public void OnResourceExecuted(ResourceExecutedContext context) { }
}

/// <summary>Header names the framework does not name.</summary>
file static class HeaderNames
{
    /// <summary>Where <see cref="IAntiforgery"/> looks for the request token before reading the form (AntiforgeryOptions.HeaderName's default).</summary>
    public const string RequestVerificationToken = "RequestVerificationToken";
}

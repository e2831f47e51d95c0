using System.Security.Claims;
using Microsoft.AspNetCore.Http.Features;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Isos;

/// <summary>The buyer's ISO images, /isos (issue 15): upload the raw bytes, list, delete; attached with PATCH /machines/{id} {"cdrom": NAME}.</summary>
internal static class IsoEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var isos = api.MapGroup("/isos").RequireAuthorization(Roles.Buyer).WithTags("ISO images");
        isos.MapGet("", async (ClaimsPrincipal u, IsoService s) => Results.Ok(await s.ListAsync(u.Name()))).WithSummary("My ISO images, oldest first, and my quota")
            .WithName("listIsos").Produces<IsoListResponse>();
        isos.MapPut("/{name}", async (string name, HttpContext http, ClaimsPrincipal u, IsoService s) =>
            {
                AllowAnySize(http);
                return (await s.UploadAsync(u.Name(), name, http.Request.ContentLength, http.Request.Body, http.RequestAborted))
                    .ToResult(iso => Results.Created($"/api/v1/isos/{Uri.EscapeDataString(iso.Name)}", iso));
            })
            .Accepts<Stream>("application/octet-stream").WithName("uploadIso").Produces<IsoResponse>(StatusCodes.Status201Created)
            .Refuses(E.Validation, E.LengthRequired, E.NotAnIso, E.IncompleteUpload, E.OverQuota, E.IsoNameTaken)
            .WithMetadata(new Microsoft.AspNetCore.Mvc.DisableRequestSizeLimitAttribute())
            .WithSummary("Upload a bootable ISO image: the raw bytes as the body, with its Content-Length; within the account's quota");
        isos.MapDelete("/{name}", async (string name, ClaimsPrincipal u, IsoService s) => await s.DeleteAsync(u.Name(), name) is { } f ? f.ToResult() : Results.NoContent())
            .WithSummary("Delete one of my ISO images (refused while attached to a machine)")
            .WithName("deleteIso").Produces(StatusCodes.Status204NoContent).Refuses(E.NotFound, E.InUse);
    }

    /// <summary>
    /// Lifts Kestrel's request body limit (30 MB by default) for this request: an ISO is as big as the buyer's quota
    /// allows, which <see cref="IsoService.UploadAsync"/> enforces from the Content-Length and while reading.
    /// </summary>
    public static void AllowAnySize(HttpContext http)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
    }
}

using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Http;

/// <summary>
/// Cursor paging of the ledger and event lists (issue 13): newest first, <c>?limit=</c> entries at a time, <c>?before=SEQ</c>
/// for the entries older than one already seen. A full page carries <c>Link: &lt;…?before=SEQ&gt;; rel="next"</c>, as GitHub's
/// API does: a cursor stays right while new entries arrive at the top, where an offset would shift.
/// </summary>
internal static class PageOf
{
    public static Failure? Check(int? limit, long? before) =>
        limit is < 1 or > Paging.MaxLimit ? Failure.Validation($"limit must be 1 to {Paging.MaxLimit}, not {limit}")
        : before is < 1 ? Failure.Validation($"before must be a sequence number from a previous page (1 or more), not {before}")
        : null;

    /// <summary>200 with the page, and the link to the next one when the page is full.</summary>
    public static IResult Answer<T>(HttpContext ctx, IReadOnlyList<T> page, long oldest, int? limit)
    {
        if (page.Count == (limit ?? Paging.DefaultLimit) && page.Count > 0)
        {
            var query = System.Web.HttpUtility.ParseQueryString(ctx.Request.QueryString.Value ?? "");
            query["before"] = oldest.ToString(System.Globalization.CultureInfo.InvariantCulture);
            ctx.Response.Headers.Link = $"<{ctx.Request.Path}?{query}>; rel=\"next\"";
        }
        return Results.Ok(page);
    }
}

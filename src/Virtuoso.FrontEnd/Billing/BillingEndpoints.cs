using System.Security.Claims;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Http;
using E = Virtuoso.Contracts.Api.ErrorCodes;

namespace Virtuoso.FrontEnd.Billing;

/// <summary>The money part of <see cref="Api"/>: ledger, monthly statements and deposits. Tagged Accounts, as they are the account's money.</summary>
internal static class BillingEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/ledger", async (ClaimsPrincipal u, LedgerView l, HttpContext ctx, Guid? machine, int? limit, long? before) =>
                PageOf.Check(limit, before) is { } bad ? bad.ToResult()
                    : (await l.ForAccountAsync(u.Name(), machine, limit ?? Paging.DefaultLimit, before)).ToResult(page => PageOf.Answer(ctx, page, page.Count == 0 ? 0 : page[^1].Seq, limit)))
            .RequireAuthorization().WithTags("Accounts")
            .WithSummary("My ledger transfers (from or to me), newest first, a page at a time (?limit=1..1000, default 100; ?before=SEQ for older; a Link rel=next header while there may be more); one machine's with ?machine=ID")
            .WithName("listLedger").Produces<IReadOnlyList<LedgerEntry>>().Refuses(E.Validation, E.NotFound);
        api.MapGet("/statements/{month}", async (string month, ClaimsPrincipal u, LedgerView l, HttpContext ctx) =>
            (await l.StatementAsync(u.Name(), month)).ToResult(csv =>
            {
                ctx.Response.Headers.ContentDisposition = $"attachment; filename=\"virtuoso-{u.Name()}-{month}.csv\"";
                return Results.Text(csv, Statement.ContentType);
            }))
            .RequireAuthorization().WithTags("Accounts").WithSummary("My statement of a calendar month (YYYY-MM, UTC) as CSV, with opening and closing balance")
            .Produces<string>(StatusCodes.Status200OK, "text/csv").WithName("getStatement").Refuses(E.Validation);
        api.MapPost("/deposits", async (DepositRequest r, DepositService s) =>
            (await s.DepositAsync(r)).ToResult(d => d.Repeated ? Results.Ok(d) : Results.Created((string?)null, d)))
            .RequireAuthorization(Roles.Operator).WithTags("Accounts").WithSummary("Operator: credit an account from the deposit source; a repeated reference is not credited twice")
            .WithName("deposit").Produces<DepositResponse>(StatusCodes.Status201Created).Produces<DepositResponse>().Refuses(E.NotFound, E.Conflict);
    }
}

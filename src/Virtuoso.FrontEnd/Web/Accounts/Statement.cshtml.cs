using Microsoft.AspNetCore.Mvc;
using Virtuoso.FrontEnd.Billing;

namespace Virtuoso.FrontEnd.Web.Accounts;

/// <summary>A month's statement as CSV, the same file as GET /api/v1/statements/{month}.</summary>
internal sealed class StatementModel(LedgerView ledger) : WebPage
{
    public async Task<IActionResult> OnGetAsync(string? month)
    {
        var csv = await ledger.StatementAsync(Me, month ?? "");
        if (csv.Failure is { } f) return Fail(f);
        return File(System.Text.Encoding.UTF8.GetBytes(csv.Value!), Statement.ContentType, $"virtuoso-{Me}-{month}.csv");
    }
}

using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Billing;
using Virtuoso.FrontEnd.Events;
using Virtuoso.FrontEnd.Hosts;
using Virtuoso.FrontEnd.Isos;
using Virtuoso.FrontEnd.Machines;
using Virtuoso.FrontEnd.Market;
using Virtuoso.FrontEnd.Networks;

namespace Virtuoso.FrontEnd;

/// <summary>
/// The versioned REST API, /api/v1 (documented at /openapi/v1.json). Thin: each endpoint checks the role,
/// calls one service method, and maps its outcome. Ownership and state are checked by the services.
/// Each feature maps its own endpoints; this only makes the group.
/// </summary>
internal static class Api
{
    public static void Map(WebApplication app)
    {
        var api = app.MapGroup("/api/v1");
        // The order of these calls is the order of the paths in /openapi/v1.json.
        AccountEndpoints.Map(api);
        KeyEndpoints.Map(api);
        ApiKeyEndpoints.Map(api);
        EventEndpoints.Map(api);
        NotificationEndpoints.Map(api);
        BillingEndpoints.Map(api);
        MarketEndpoints.Map(api);
        MachineEndpoints.Map(api);
        IsoEndpoints.Map(api);
        NetworkEndpoints.Map(api);
        HostEndpoints.Map(api);
    }
}

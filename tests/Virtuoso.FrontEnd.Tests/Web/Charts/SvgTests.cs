using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Web.Charts;

namespace Virtuoso.FrontEnd.Tests.Web.Charts;

/// <summary>The inline SVG charts: what they draw follows the data (design §3.2, §6.1.9).</summary>
public sealed class SvgTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void PriceChart_StepsAtEachChange_AndHoldsTheLastEstimateUntilNow()
    {
        var history = new PriceHistoryResponse("linux-busybox", 16.5m, 1.4112m,
            [new PricePoint(T0, 30m, 0.3744m), new PricePoint(T0.AddHours(1), 16.5m, 1.4112m)]);
        var svg = Text(PriceChart.Render(history, T0.AddHours(2)));
        Assert.Contains("data-config=\"linux-busybox\"", svg);
        Assert.Contains("storage $/month, now 16.5", svg);
        Assert.Contains("running $/hour, now 1.4112", svg);
        // Storage: starts at the top (30, the maximum), steps down half-way along (1 h of 2 h), holds to the right edge.
        Assert.Contains("M70,42 H240 V112 H410", svg);
    }

    [Fact]
    public void PriceChart_OnePoint_IsAFlatLineWithoutDividingByZero()
    {
        var svg = Text(PriceChart.Render(new PriceHistoryResponse("Configuration1", 3m, 0.2016m, [new PricePoint(T0, 3m, 0.2016m)]), T0));
        Assert.Contains("now 3", svg);
        Assert.DoesNotContain("NaN", svg);
        Assert.DoesNotContain("Infinity", svg);
    }

    [Fact]
    public void CapacityChart_BarsAreTheReservedShareOfEachTotal_EscapingTheName()
    {
        var host = new HostResponse("a<b", "p", "127.0.0.1", 7001, "x86_64", 10000, 1000, 0.00001m, 4096, 4, 0.00001m, 3600,
            20000, 100, 0.01m, 30, "1G", true, ReservedSpeed: 4000, ReservedMemory: 4096, ReservedStorage: 0, null, null);
        var svg = Text(CapacityChart.Render(host));
        Assert.Contains("data-host=\"a&lt;b\"", svg);
        Assert.Contains("data-resource=\"speed\" data-reserved=\"4000\" data-total=\"10000\" x=\"80\" y=\"8\" width=\"132\"", svg); // 40% of 330
        Assert.Contains("4096 of 4096 MB reserved (100%)", svg);
        Assert.Contains("fill=\"#b3261e\"", svg); // a full resource is drawn red
        Assert.Contains("0 of 20000 MB reserved (0%)", svg);
    }

    private static string Text(Microsoft.AspNetCore.Html.IHtmlContent html)
    {
        using var w = new StringWriter();
        html.WriteTo(w, System.Text.Encodings.Web.HtmlEncoder.Default);
        return w.ToString();
    }
}

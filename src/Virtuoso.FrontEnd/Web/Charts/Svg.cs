using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Html;
using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Web.Charts;

/// <summary>
/// A configuration's market estimate over time (§6.1.9) as inline SVG, drawn by the front-end: two step lines,
/// storage dollars per month above and running dollars per hour below, each on its own scale. An estimate holds
/// until the next point, so the last one is drawn on to <c>now</c>.
/// </summary>
internal static class PriceChart
{
    // Top leaves room for the title line and the first panel's label line below it (they overlapped when Top was 22).
    private const int Width = 420, PanelHeight = 70, Left = 70, Right = 10, Top = 42, Gap = 34;

    public static IHtmlContent Render(PriceHistoryResponse history, DateTimeOffset now)
    {
        var points = history.Points;
        var start = points[0].At;
        var end = now > points[^1].At ? now : points[^1].At;
        var span = Math.Max(1, (end - start).TotalSeconds);
        var height = Top + 2 * PanelHeight + Gap + 24;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart price-chart\" data-config=\"{E(history.Configuration)}\" viewBox=\"0 0 {Width} {height}\" width=\"{Width}\" height=\"{height}\" role=\"img\" aria-label=\"Market estimate of {E(history.Configuration)} over time\">");
        svg.Append(CultureInfo.InvariantCulture, $"<text class=\"title\" x=\"{Left}\" y=\"17\">{E(history.Configuration)}</text>");
        Panel(svg, points.Select(p => (p.At, p.StorageRate)).ToList(), start, span, end, Top, "#2456c7", "storage $/month");
        Panel(svg, points.Select(p => (p.At, p.RunningRate)).ToList(), start, span, end, Top + PanelHeight + Gap, "#1f7a3e", "running $/hour");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{height - 6}\">{E(Show.When(start))}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right}\" y=\"{height - 6}\" text-anchor=\"end\">now</text>");
        svg.Append("</svg>");
        return new HtmlString(svg.ToString());
    }

    private static void Panel(StringBuilder svg, List<(DateTimeOffset At, decimal Value)> series, DateTimeOffset start, double span, DateTimeOffset end,
        int top, string colour, string label)
    {
        var min = series.Min(p => p.Value);
        var max = series.Max(p => p.Value);
        var range = max == min ? (max == 0 ? 1m : max) : max - min;
        double X(DateTimeOffset t) => Left + (Width - Left - Right) * (t - start).TotalSeconds / span;
        double Y(decimal v) => top + PanelHeight - (double)((v - (max == min ? 0 : min)) / range) * PanelHeight;
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{top + PanelHeight}\" x2=\"{Width - Right}\" y2=\"{top + PanelHeight}\" stroke=\"#c5ccd8\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{top + 4}\" text-anchor=\"end\">{E(Core.Money.Format(max))}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{top + PanelHeight}\" text-anchor=\"end\">{E(Core.Money.Format(max == min ? 0 : min))}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{top - 4}\" fill=\"{colour}\">{E(label)}, now {E(Core.Money.Format(series[^1].Value))}</text>");
        var path = new StringBuilder();
        path.Append(CultureInfo.InvariantCulture, $"M{X(series[0].At):0.#},{Y(series[0].Value):0.#}");
        for (var i = 1; i < series.Count; i++)
            path.Append(CultureInfo.InvariantCulture, $" H{X(series[i].At):0.#} V{Y(series[i].Value):0.#}");
        path.Append(CultureInfo.InvariantCulture, $" H{X(end):0.#}");
        svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>");
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}

/// <summary>A host's reserved versus total speed, memory and storage (design §3.2) as inline SVG bars.</summary>
internal static class CapacityChart
{
    private const int Width = 420, Bar = 16, Row = 38, Left = 80, Right = 10;

    public static IHtmlContent Render(HostResponse h)
    {
        var rows = new (string Label, long Reserved, long Total, string Unit)[]
        {
            ("speed", h.ReservedSpeed, h.Speed, "bogomips"), ("memory", h.ReservedMemory, h.Memory, "MB"), ("storage", h.ReservedStorage, h.Storage, "MB"),
        };
        var height = rows.Length * Row + 8;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart capacity-chart\" data-host=\"{E(h.Name)}\" viewBox=\"0 0 {Width} {height}\" width=\"{Width}\" height=\"{height}\" role=\"img\" aria-label=\"Reserved and total capacity of {E(h.Name)}\">");
        for (var i = 0; i < rows.Length; i++)
        {
            var (label, reserved, total, unit) = rows[i];
            var y = 8 + i * Row;
            var share = total <= 0 ? 0 : Math.Min(1.0, (double)reserved / total);
            var full = Width - Left - Right;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 8}\" y=\"{y + 12}\" text-anchor=\"end\">{label}</text>");
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{y}\" width=\"{full}\" height=\"{Bar}\" rx=\"3\" fill=\"#e4e9f4\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"reserved\" data-resource=\"{label}\" data-reserved=\"{reserved}\" data-total=\"{total}\" x=\"{Left}\" y=\"{y}\" width=\"{full * share:0.#}\" height=\"{Bar}\" rx=\"3\" fill=\"{(share > 0.9 ? "#b3261e" : "#2456c7")}\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{y + Bar + 13}\">{reserved} of {total} {unit} reserved ({share * 100:0.#}%)</text>");
        }
        svg.Append("</svg>");
        return new HtmlString(svg.ToString());
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}

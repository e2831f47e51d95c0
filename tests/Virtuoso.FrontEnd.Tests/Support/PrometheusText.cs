using System.Globalization;
using System.Text;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// A scrape of a <c>/metrics</c> page in Prometheus' text format, read sample by sample, so tests compare numbers before
/// and after rather than look for substrings. Shared by the front-end, agent and end-to-end tests (linked into each).
/// </summary>
internal sealed class PrometheusText
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    public static async Task<PrometheusText> ScrapeAsync(HttpClient client, string path = "/metrics")
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType ?? "");
        return Parse(body);
    }

    public static PrometheusText Parse(string text)
    {
        var scrape = new PrometheusText();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var i = 0;
            while (i < line.Length && line[i] != '{' && line[i] != ' ') i++;
            var name = line[..i];
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (i < line.Length && line[i] == '{')
            {
                i++;
                while (line[i] != '}')
                {
                    var eq = line.IndexOf('=', i);
                    var label = line[i..eq].Trim();
                    i = eq + 2; // past ="
                    var value = new StringBuilder();
                    for (; line[i] != '"'; i++)
                    {
                        if (line[i] == '\\') { i++; value.Append(line[i] == 'n' ? '\n' : line[i]); }
                        else value.Append(line[i]);
                    }
                    labels[label] = value.ToString();
                    i++; // past the closing quote
                    if (line[i] == ',') i++;
                }
                i++;
            }
            var number = line[i..].Trim().Split(' ')[0];
            scrape._samples.Add((name, labels, number switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                _ => double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture),
            }));
        }
        return scrape;
    }

    /// <summary>Whether any sample is named <paramref name="name"/>.</summary>
    public bool Has(string name) => _samples.Any(s => s.Name == name);

    /// <summary>The sum of the samples named <paramref name="name"/> that carry all of <paramref name="labels"/> (0 when none does).</summary>
    public double Sum(string name, params (string Label, string Value)[] labels) =>
        _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Label, out var v) && v == l.Value)).Sum(s => s.Value);

    /// <summary>The values <paramref name="label"/> takes among the samples named <paramref name="name"/>.</summary>
    public IReadOnlySet<string> Values(string name, string label) =>
        _samples.Where(s => s.Name == name && s.Labels.ContainsKey(label)).Select(s => s.Labels[label]).ToHashSet();
}

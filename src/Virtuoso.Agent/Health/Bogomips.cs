using System.Globalization;

namespace Virtuoso.Agent.Health;

/// <summary>
/// The host's speed as the marketplace sells it (design §12, report §5.2.2): the kernel's BogoMIPS figure, which it
/// computes once at boot per processor and prints in /proc/cpuinfo as <c>bogomips : 4800.00</c>. The agent runs machines on
/// <c>--cores</c> of them, so that is what it reports: the sum over that many processors (the first ones listed; on the
/// usual host every line says the same). Read once at start-up; the figure does not change while the kernel runs.
/// </summary>
internal static class Bogomips
{
    public const string CpuInfoPath = "/proc/cpuinfo";

    /// <summary>The sum of the first <paramref name="cores"/> <c>bogomips</c> lines of a /proc/cpuinfo text (rounded down);
    /// null when it has none (some architectures' kernels do not print it) or they do not parse.</summary>
    public static long? Parse(string cpuinfo, int cores)
    {
        var figures = new List<decimal>();
        foreach (var line in cpuinfo.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !line[..colon].Trim().Equals("bogomips", StringComparison.OrdinalIgnoreCase)) continue;
            if (!decimal.TryParse(line[(colon + 1)..].Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0)
                return null;
            figures.Add(value);
        }
        if (figures.Count == 0 || cores < 1) return null;
        return (long)decimal.Floor(figures.Take(cores).Sum());
    }

    /// <summary>This host's figure for <paramref name="cores"/> processors; null when /proc/cpuinfo cannot be read or says none.</summary>
    public static long? Measure(int cores, string path = CpuInfoPath)
    {
        try
        {
            return Parse(File.ReadAllText(path), cores);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>What /v1/health says about this build and host, measured once.</summary>
internal sealed class HostFacts(AgentOptions options)
{
    public long? Bogomips { get; } = Health.Bogomips.Measure(options.Cores);

    public string Version { get; } = typeof(HostFacts).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";
}

namespace Virtuoso.Bench;

/// <summary>How a measure grows with the size: shared by the benchmarks that run several sizes (linked into each project).</summary>
internal static class PowerLaw
{
    /// <summary>The exponent b of the power law y = a·N^b fitted by least squares on logarithms (points with y ≤ 0 left out).</summary>
    public static double Exponent(IEnumerable<(double N, double Y)> points)
    {
        var p = points.Where(x => x.Y > 0).Select(x => (X: Math.Log(x.N), Y: Math.Log(x.Y))).ToList();
        var (mx, my) = (p.Average(x => x.X), p.Average(x => x.Y));
        return p.Sum(x => (x.X - mx) * (x.Y - my)) / p.Sum(x => (x.X - mx) * (x.X - mx));
    }
}

namespace Virtuoso.Core.Machines;

/// <summary>
/// The CPU a machine has paid for, as the kernel enforces it (design §12, issue 17; report §5.2: speed is sold in
/// chunks of bogomips). A machine buying speed S on a host selling total speed T on C cores may use S ÷ T × C cores of
/// CPU time: a CFS quota of that many periods per period, and the same proportion as its weight against its
/// neighbours. Its vCPUs are the share rounded up to whole cores (0.4 cores is 1 vCPU, 2.4 is 3), never more than C.
/// Decided once, when the machine is stored, and kept with it through suspend, resume, host edits and migration (prices
/// and shares are never retroactive; a suspended guest's saved state also needs the same vCPUs to load).
/// </summary>
/// <param name="Millicores">The share in thousandths of a core: 400 is 0.4 cores.</param>
/// <param name="Vcpus">Virtual CPUs the guest sees.</param>
public sealed record CpuShare(long Millicores, int Vcpus)
{
    /// <summary>The CFS period the quota is counted in (the kernel's default, 100 ms).</summary>
    public const long PeriodMicroseconds = 100_000;

    /// <summary>The kernel's smallest quota (1 ms per period); a share below it is raised to it.</summary>
    public const long MinQuotaMicroseconds = 1_000;

    public decimal Cores => Millicores / 1000m;

    /// <summary>CPU time allowed per <see cref="PeriodMicroseconds"/>, all threads of the process together.</summary>
    public long QuotaMicroseconds => Math.Max(MinQuotaMicroseconds, Millicores * PeriodMicroseconds / 1000);

    /// <summary>cgroup v2 <c>cpu.weight</c> (1..10000, 100 = one core's worth).</summary>
    public long Weight => Math.Clamp((Millicores + 5) / 10, 1, 10_000);

    /// <summary>cgroup v1 <c>cpu.shares</c> (2..262144, 1024 = one core's worth).</summary>
    public long Shares => Math.Clamp(Millicores * 1024 / 1000, 2, 262_144);

    /// <summary>S ÷ T × C, rounded down to a millicore (never up: the buyer gets at most what was bought), at least 1.</summary>
    public static CpuShare For(long speedBogomips, long hostSpeedBogomips, int cores)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(speedBogomips);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hostSpeedBogomips);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cores);
        var speed = Math.Min(speedBogomips, hostSpeedBogomips);
        var millicores = Math.Max(1, (long)((Int128)speed * cores * 1000 / hostSpeedBogomips));
        return new CpuShare(millicores, VcpusFor(millicores, cores));
    }

    private static int VcpusFor(long millicores, int cores) => (int)Math.Min(cores, (millicores + 999) / 1000);
}

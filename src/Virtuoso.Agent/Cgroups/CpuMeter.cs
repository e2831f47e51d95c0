using System.Collections.Concurrent;

namespace Virtuoso.Agent.Cgroups;

/// <summary>
/// A running machine's CPU use in cores (issue 17: "the agent reports each machine's CPU use from the cgroup's
/// accounting"): the CPU time its cgroup counted between two readings at least <see cref="MinInterval"/> apart, over the
/// time between them. The front-end polls every few seconds, so each answer covers the last poll interval.
/// </summary>
internal sealed class CpuMeter(MachineCgroups cgroups, TimeProvider time)
{
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);

    private sealed record Reading(long Timestamp, TimeSpan CpuTime, long? Millicores);

    private readonly ConcurrentDictionary<Guid, Reading> _last = new();

    /// <summary>Millicores used since the previous reading, and memory in MB now; nulls when the machine has no cgroup.</summary>
    public (long? CpuMillicores, long? MemoryMb) Read(Guid id)
    {
        if (cgroups.Usage(id) is not { } usage)
        {
            _last.TryRemove(id, out _);
            return (null, null);
        }
        var now = time.GetTimestamp();
        var reading = _last.AddOrUpdate(id,
            _ => new Reading(now, usage.CpuTime, null),
            (_, last) =>
            {
                var elapsed = time.GetElapsedTime(last.Timestamp, now);
                if (usage.CpuTime < last.CpuTime)
                    return new Reading(now, usage.CpuTime, null); // a new cgroup: QEMU started again
                if (elapsed < MinInterval)
                    return last;
                var millicores = (long)Math.Round((usage.CpuTime - last.CpuTime).TotalMilliseconds / elapsed.TotalSeconds);
                return new Reading(now, usage.CpuTime, millicores);
            });
        return (reading.Millicores, usage.MemoryBytes >> 20);
    }

    public void Forget(Guid id) => _last.TryRemove(id, out _);
}

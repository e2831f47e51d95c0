using System.Collections.Concurrent;
using Virtuoso.Agent.Network;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>
/// An <see cref="ICommandRunner"/> that records every command and plays a host's links and flood lists the way
/// <c>ip</c> and <c>bridge</c> would (adding an existing link fails, deleting a missing one fails), so the network code's
/// idempotence is tested without touching any namespace.
/// </summary>
internal sealed class FakeHostLinks : ICommandRunner
{
    private readonly object _gate = new();
    private readonly SortedSet<string> _links = new(StringComparer.Ordinal) { "lo", "eth0" };
    private readonly Dictionary<string, SortedSet<string>> _fdb = [];

    public ConcurrentQueue<string> Commands { get; } = new();

    /// <summary>The last ruleset given to <c>nft -f -</c>.</summary>
    public string? Ruleset { get; private set; }

    /// <summary>A command that starts with this text fails (like a kernel refusing it).</summary>
    public string? FailOn { get; set; }

    public IReadOnlySet<string> Links { get { lock (_gate) return new SortedSet<string>(_links); } }

    public IReadOnlyList<string> Fdb(string vxlan) { lock (_gate) return [.. _fdb.GetValueOrDefault(vxlan, [])]; }

    public void AddLink(string name) { lock (_gate) _links.Add(name); }

    /// <summary>The commands that change something (everything but <c>show</c>).</summary>
    public IReadOnlyList<string> Changes => Commands.Where(c => !c.Contains(" show", StringComparison.Ordinal)).ToList();

    public Task<string> RunAsync(string program, IReadOnlyList<string> args, string? stdin = null)
    {
        var line = program + " " + string.Join(' ', args);
        Commands.Enqueue(line);
        if (FailOn is { } fail && line.StartsWith(fail, StringComparison.Ordinal))
            throw new NetworkException($"{line} failed with code 2: RTNETLINK answers: Operation not permitted");
        lock (_gate)
        {
            string Fails(string why) => throw new NetworkException($"{line} failed with code 2: {why}");
            switch (args)
            {
                case ["-o", "link", "show"]:
                    return Task.FromResult(string.Concat(_links.Select((l, i) => $"{i + 1}: {l}: <BROADCAST,MULTICAST,UP> mtu 1450\\    link/ether 02:00:00:00:00:01\n")));
                case ["link", "add", "name", var name, ..]:
                    if (!_links.Add(name))
                        Fails("File exists");
                    break;
                case ["tuntap", "add", "dev", var tap, ..]:
                    if (!_links.Add(tap))
                        Fails("File exists");
                    break;
                case ["link", "del", "dev", var name]:
                    if (!_links.Remove(name))
                        Fails("Cannot find device");
                    _fdb.Remove(name);
                    break;
                case ["link", "set", "dev", var name, ..]:
                    if (!_links.Contains(name))
                        Fails("Cannot find device");
                    break;
                case ["fdb", "show", "dev", var dev]:
                    return Task.FromResult(string.Concat(_fdb.GetValueOrDefault(dev, []).Select(p => $"00:00:00:00:00:00 dst {p} self permanent\n"))
                        + "42:cd:9d:e7:26:30 master vbr-2a permanent\n");
                case ["fdb", "append", _, "dev", var dev, "dst", var peer]:
                    if (!(_fdb.TryGetValue(dev, out var set) ? set : _fdb[dev] = new(StringComparer.Ordinal)).Add(peer))
                        Fails("File exists");
                    break;
                case ["fdb", "del", _, "dev", var dev, "dst", var peer]:
                    if (!_fdb.TryGetValue(dev, out var entries) || !entries.Remove(peer))
                        Fails("No such file or directory");
                    break;
                case ["-f", "-"]:
                    Ruleset = stdin;
                    break;
            }
        }
        return Task.FromResult("");
    }
}

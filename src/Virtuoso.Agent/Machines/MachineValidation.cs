using System.Globalization;
using System.Text.RegularExpressions;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Machines;

/// <summary>A create request that passed <see cref="MachineValidation"/>: MAC in lower case, sizes in range.</summary>
internal sealed record ValidCreateRequest(Guid Id, string Mac, long SpeedBogomips, long MemoryMb, long DiskMb, string? Image, long Version,
    long? HostSpeedBogomips = null, ImageSource? ImageSource = null);

/// <summary>Checks at the agent's boundary (style: validate at the boundary, keep the inside trusting).</summary>
internal static partial class MachineValidation
{
    public const long MaxMemoryMb = 1024L * 1024;            // 1 TiB
    public const long MaxDiskMb = 16L * 1024 * 1024;         // 16 TiB
    public const long MaxSpeedBogomips = 10_000_000;

    public static Outcome<Guid> ParseId(string text)
    {
        if (!Guid.TryParse(text, out var id))
            return AgentError.Validation($"'{Truncate(text)}' is not a machine id (a GUID)");
        if (id == Guid.Empty)
            return AgentError.Validation("the machine id must not be the empty GUID");
        return id;
    }

    public static Outcome<ValidCreateRequest> Create(Guid routeId, CreateMachineRequest? r)
    {
        if (r is null)
            return AgentError.Validation("a CreateMachineRequest body is required");
        var problems = new List<string>();
        if (r.Id != routeId)
            problems.Add($"body id {r.Id:D} differs from the id in the path {routeId:D}");
        var mac = ParseMac(r.Mac, out var macProblem);
        if (macProblem is not null)
            problems.Add(macProblem);
        CheckRange(problems, "speedBogomips", r.SpeedBogomips, MaxSpeedBogomips);
        CheckRange(problems, "memoryMb", r.MemoryMb, MaxMemoryMb);
        CheckRange(problems, "diskMb", r.DiskMb, MaxDiskMb);
        if (r.Image is not null && !IsImageName(r.Image))
            problems.Add($"'{Truncate(r.Image)}' is not an image name (lower-case letters, digits, '.', '-', '_'; no path)");
        if (r.Version < 0)
            problems.Add($"version must not be negative, not {r.Version}");
        if (r.HostSpeedBogomips is { } total)
            CheckRange(problems, "hostSpeedBogomips", total, MaxSpeedBogomips);
        if (r.ImageSource is { } source)
        {
            if (source.Name != r.Image)
                problems.Add($"imageSource describes '{Truncate(source.Name ?? "")}', not the machine's image '{Truncate(r.Image ?? "(none)")}'");
            else if (Images.ImageManifest.CheckSource(source) is { } bad)
                problems.Add(bad);
        }
        return problems.Count > 0
            ? AgentError.Validation(string.Join("; ", problems))
            : new ValidCreateRequest(r.Id, mac!, r.SpeedBogomips, r.MemoryMb, r.DiskMb, r.Image, r.Version, r.HostSpeedBogomips, r.ImageSource);
    }

    public static Outcome<MachineCommand> Command(MachineCommand? c)
    {
        if (c is null)
            return AgentError.Validation("a MachineCommand body is required");
        if (c.ExpectedVersion < 0)
            return AgentError.Validation($"expectedVersion must not be negative, not {c.ExpectedVersion}");
        if (c.NewVersion < c.ExpectedVersion)
            return AgentError.Validation($"newVersion {c.NewVersion} is below expectedVersion {c.ExpectedVersion}: versions never go back");
        var problems = new List<string>();
        if (c.Metadata is { } metadata)
            CheckMetadata(problems, metadata);
        if (c.Forwards is { } forwards)
            CheckForwards(problems, forwards);
        if (c.Cdrom is { } cdrom && BlobProblem("cdrom", cdrom) is { } badCdrom)
            problems.Add(badCdrom);
        if (c.Network is { } network)
            Network.NetworkValidation.CheckNetwork(problems, network);
        return problems.Count > 0 ? AgentError.Validation(string.Join("; ", problems)) : c;
    }

    /// <summary>What is wrong with a file the agent is to fetch by SHA-256 (issue 15), or null.</summary>
    public static string? BlobProblem(string what, BlobSource? blob)
    {
        if (blob is null || blob.Sha256 is null || blob.Sha256.Length != 64 || !blob.Sha256.All(char.IsAsciiHexDigitLower))
            return $"{what} needs a SHA-256 of 64 lower-case hex digits";
        if (blob.Size is < 0 or > MaxDiskMb * 1024 * 1024)
            return $"{what} has an impossible size {blob.Size}";
        if (!Uri.TryCreate(blob.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            return $"{what} needs an absolute http(s) URL, not '{Truncate(blob.Url ?? "")}'";
        return null;
    }

    public const int MaxSshKeys = 20;
    public const int MaxSshKeysChars = 64 * 1024;
    public const int MaxForwards = 6;

    // The seed's YAML quotes every value (Seed/SeedContents); these checks keep what reaches it to what a guest can use.
    private static void CheckMetadata(List<string> problems, GuestMetadata m)
    {
        if (m.Hostname is null || !Hostname().IsMatch(m.Hostname))
            problems.Add($"metadata.hostname '{Truncate(m.Hostname ?? "")}' is not a host name: 1 to 63 letters, digits and '-', not starting or ending with '-' (RFC 1123)");
        if (m.SshKeys is null)
        {
            problems.Add("metadata.sshKeys is required (an empty list for none)");
            return;
        }
        if (m.SshKeys.Count > MaxSshKeys)
            problems.Add($"metadata.sshKeys has {m.SshKeys.Count} keys, at most {MaxSshKeys} are allowed");
        var total = 0L;
        for (var i = 0; i < m.SshKeys.Count; i++)
        {
            var key = m.SshKeys[i];
            if (string.IsNullOrWhiteSpace(key))
            {
                problems.Add($"metadata.sshKeys[{i}] is empty");
                continue;
            }
            total += key.Length;
            if (key.Contains('\n') || key.Contains('\r'))
                problems.Add($"metadata.sshKeys[{i}] is more than one line");
            else if (HasUnsafeCharacter(key))
                problems.Add($"metadata.sshKeys[{i}] holds a control or invisible character");
        }
        if (total > MaxSshKeysChars)
            problems.Add($"metadata.sshKeys hold {total} characters, at most {MaxSshKeysChars} are allowed");
    }

    /// <summary>A control, format or separator character, or a lone surrogate (a well-formed pair, an emoji in a comment, is fine).</summary>
    private static bool HasUnsafeCharacter(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                i++;
            else if (Seed.SeedContents.IsUnsafe(text[i]))
                return true;
        }
        return false;
    }

    private static void CheckForwards(List<string> problems, IReadOnlyList<PortForward> forwards)
    {
        if (forwards.Count > MaxForwards)
            problems.Add($"forwards has {forwards.Count} entries, at most {MaxForwards} are allowed");
        foreach (var f in forwards)
        {
            if (f is null)
            {
                problems.Add("forwards holds a null entry");
                return;
            }
            if (f.HostPort is < 1 or > 65535 || f.GuestPort is < 1 or > 65535)
                problems.Add($"forward {f.HostPort} -> {f.GuestPort}: ports are between 1 and 65535");
        }
        if (forwards.Where(f => f is not null).GroupBy(f => f.HostPort).FirstOrDefault(g => g.Count() > 1) is { } host)
            problems.Add($"host port {host.Key} is forwarded twice");
        if (forwards.Where(f => f is not null).GroupBy(f => f.GuestPort).FirstOrDefault(g => g.Count() > 1) is { } guest)
            problems.Add($"guest port {guest.Key} is forwarded twice");
    }

    /// <summary>A name that can only ever mean a folder directly inside the images directory.</summary>
    public static bool IsImageName(string name) => ImageName().IsMatch(name) && !name.Contains("..", StringComparison.Ordinal);

    /// <summary>Six hex pairs separated by colons, unicast (QEMU and Ethernet refuse a multicast station address), not all zero.</summary>
    private static string? ParseMac(string? text, out string? problem)
    {
        problem = null;
        if (text is null || !Mac().IsMatch(text))
        {
            problem = $"'{Truncate(text ?? "")}' is not a MAC address like 52:54:00:12:34:56";
            return null;
        }
        var first = byte.Parse(text.AsSpan(0, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if ((first & 1) != 0)
            problem = $"MAC {text} is a multicast address";
        else if (text.All(c => c is '0' or ':'))
            problem = "MAC 00:00:00:00:00:00 is not an address";
        return text.ToLowerInvariant();
    }

    public const int MaxVcpus = 256;

    /// <summary>A CPU share carried by a migration (design §12): 1 millicore up to <see cref="MaxVcpus"/> cores, 1 to <see cref="MaxVcpus"/> vCPUs.</summary>
    public static AgentError? CheckCpu(long? millicores, int vcpus)
    {
        var problems = new List<string>();
        if (millicores is { } m)
            CheckRange(problems, "cpuMillicores", m, MaxVcpus * 1000L);
        CheckRange(problems, "vcpus", vcpus, MaxVcpus);
        return problems.Count > 0 ? AgentError.Validation(string.Join("; ", problems)) : null;
    }

    private static void CheckRange(List<string> problems, string name, long value, long max)
    {
        if (value <= 0 || value > max)
            problems.Add($"{name} must be between 1 and {max}, not {value}");
    }

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "…";

    [GeneratedRegex(@"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}\z")]
    private static partial Regex Mac();

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\z")]
    private static partial Regex Hostname();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,63}\z")]
    private static partial Regex ImageName();
}

using System.Net;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Vmmp;

namespace Virtuoso.Agent.Migration;

/// <summary>The pure decisions of the migration server (design §6.2): what to accept, what a manifest may hold, what happens next.</summary>
internal static class MigrationDecisions
{
    /// <summary>The only files a machine is made of on the wire (machine.json is the destination's own).</summary>
    public const string DiskFile = "disk.qcow2";
    public const string StateFile = "state.bin";

    /// <summary>
    /// Why the destination must refuse <paramref name="req"/>, or null to accept it. Only a REQ the front-end
    /// announced over the authenticated API, for the same version, method and origin, starts anything (design §6.1).
    /// </summary>
    public static string? WhyRefuse(VmmpReq req, IncomingMigration? announced, string? phase, IReadOnlyCollection<string> methods)
    {
        if (announced is null)
            return $"no migration of machine {req.MachineId:D} was announced to this host";
        if (phase != MigrationPhases.Expected)
            return $"the migration of machine {req.MachineId:D} is {phase}, not expecting a REQ";
        if (req.Version != announced.Version)
            return $"REQ is for version {req.Version}, the announced migration for version {announced.Version}";
        if (req.Method != announced.Method)
            return $"REQ asks for method {req.Method}, the announced migration for {announced.Method}";
        if (!methods.Contains(req.Method))
            return $"this host does not support method {req.Method}";
        if (!SameEndpoint(announced.Origin, req.OrigIp, req.OrigPort))
            return $"REQ names origin {req.OrigIp}:{req.OrigPort}, the announced origin is {announced.Origin}";
        return null;
    }

    /// <summary>Whether an origin base address ("http://10.0.0.1:7001") is exactly <paramref name="ip"/>:<paramref name="port"/>.</summary>
    public static bool SameEndpoint(string origin, IPAddress ip, int port) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var host)
        && host.Equals(ip) && uri.Port == port;

    /// <summary>Why an announcement is unusable, or null. The machine's spec itself is checked like a create request.</summary>
    public static string? CheckAnnouncement(IncomingMigration m, IReadOnlyCollection<string> methods)
    {
        if (m.Version < 0)
            return "version must not be negative";
        if (m.Method is null || !methods.Contains(m.Method))
            return $"this host does not support method '{m.Method}' (it supports {string.Join(", ", methods)})";
        if (m.Origin is null || !Uri.TryCreate(m.Origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || !IPAddress.TryParse(uri.Host.Trim('[', ']'), out _) || uri.AbsolutePath != "/")
            return $"origin '{m.Origin}' must be the origin agent's base address, http://IP:PORT";
        if (string.IsNullOrWhiteSpace(m.OriginHost) || m.OriginHost.Length > 200)
            return "originHost must name the origin host";
        if (m.Token is null || m.Token.Length is < 16 or > 512 || m.Token.Any(c => c is <= ' ' or > '~'))
            return "the token must be 16..512 printable ASCII characters without spaces";
        return null;
    }

    /// <summary>
    /// Why the origin's manifest must not be fetched, or null. Names are checked against the two known files, so no
    /// name can escape the staging directory.
    /// </summary>
    public static string? CheckManifest(ExportManifest? m, Guid id, long version, string? image)
    {
        if (m is null || m.Files is null)
            return "the origin sent no manifest";
        if (m.Id != id || m.Version != version)
            return $"the origin exports machine {m.Id:D} at version {m.Version}, not {id:D} at version {version}";
        if (m.State is not (AgentStates.Stopped or AgentStates.Suspended))
            return $"the origin's machine is '{m.State}', not stopped or suspended";
        if (m.Image != image)
            return $"the origin's disk is based on image '{m.Image}', the announced machine on '{image}'";
        var names = m.Files.Select(f => f?.Name).ToList();
        if (names.Any(n => n is not (DiskFile or StateFile)) || names.Distinct().Count() != names.Count)
            return $"the manifest lists files other than {DiskFile} and {StateFile}: {string.Join(", ", names)}";
        if (!names.Contains(DiskFile))
            return $"the manifest has no {DiskFile}";
        if (names.Contains(StateFile) != (m.State == AgentStates.Suspended))
            return $"a {m.State} machine comes {(m.State == AgentStates.Suspended ? "with" : "without")} {StateFile}";
        if (m.Files.FirstOrDefault(f => f.Length < 0 || f.Digest is not { Length: 64 } || !f.Digest.All(char.IsAsciiHexDigitLower)) is { } bad)
            return $"the manifest entry of {bad.Name} has a bad length or SHA-256";
        return null;
    }

    /// <summary>What an interrupted migration is after an agent restart: a verified pending copy survives, a copy in progress does not.</summary>
    public static string PhaseAfterRestart(string phase) =>
        phase is MigrationPhases.Copying or MigrationPhases.Verifying ? MigrationPhases.Failed : phase;

    /// <summary>Why a migration cannot be activated now, or null.</summary>
    public static string? WhyNotActivate(string phase, long version, long newVersion)
    {
        if (phase != MigrationPhases.Pending)
            return $"the migration is {phase}, not pending";
        if (newVersion != version + 1)
            return $"the new version must be {version + 1} (VERSION + 1), not {newVersion}";
        return null;
    }

    /// <summary>
    /// The answer to a line that is not a valid VMMP 1.0 message: RESP FAIL when a machine id can be read from it
    /// (with the version it names, else the one announced for that machine, else 0), else nothing (close).
    /// </summary>
    public static VmmpResp? FailFor(string line, Func<Guid, long?> announcedVersion)
    {
        var fields = line.Trim().TrimStart('<').TrimEnd('>').Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < Math.Min(fields.Length, 5); i++)
        {
            if (!Guid.TryParseExact(fields[i], "D", out var id))
                continue;
            long? named = i + 1 < fields.Length && long.TryParse(fields[i + 1], System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
            return new VmmpResp(id, named ?? announcedVersion(id) ?? 0, false);
        }
        return null;
    }
}

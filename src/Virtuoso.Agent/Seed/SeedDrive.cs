using System.Text;
using Virtuoso.Agent.Machines;
using Virtuoso.Agent.Vmm;
using Virtuoso.Agent.Vmm.Qemu;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Seed;

/// <summary>
/// Writes a machine's cloud-init NoCloud seed, <see cref="MachineDirectory.Seed"/>: an ISO 9660 file system (Rock Ridge and
/// Joliet) labelled <c>cidata</c> holding <c>meta-data</c> and <c>user-data</c> (<see cref="SeedContents"/>), made by Debian's
/// <c>genisoimage</c> the way cloud-init's own documentation makes one. QEMU attaches it read-only.
/// </summary>
internal sealed class SeedDrive(AgentOptions options)
{
    /// <summary>
    /// Every seed is padded to this size. A resume must present the devices the state was saved with (§6.3): a seed rebuilt
    /// on another host, with other contents, then still has the very capacity the guest saw at boot. The agent's validation
    /// bounds the keys (64 KiB), so the ISO (about 370 KiB) never comes near it.
    /// </summary>
    public const long Size = 1L << 20;

    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Builds the seed and renames it into place; a crash leaves the previous seed or the new one, never half of one.</summary>
    /// <param name="networkConfig">The seed's <c>network-config</c> (<see cref="SeedContents.NetworkConfig"/>); null: none.</param>
    public async Task WriteAsync(MachineDirectory dir, Guid id, GuestMetadata metadata, string? networkConfig = null)
    {
        var files = Path.Combine(dir.Root, "seed.d");
        if (Directory.Exists(files))
            Directory.Delete(files, recursive: true);
        Directory.CreateDirectory(files);
        try
        {
            var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
            await File.WriteAllTextAsync(Path.Combine(files, "meta-data"), SeedContents.MetaData(id, metadata), utf8);
            await File.WriteAllTextAsync(Path.Combine(files, "user-data"), SeedContents.UserData(metadata), utf8);
            List<string> contents = [Path.Combine(files, "user-data"), Path.Combine(files, "meta-data")];
            if (networkConfig is not null)
            {
                await File.WriteAllTextAsync(Path.Combine(files, "network-config"), networkConfig, utf8);
                contents.Add(Path.Combine(files, "network-config"));
            }
            File.Delete(dir.SeedTempFile);
            await QemuVmm.RunToolAsync(options.GenIsoImagePath,
                ["-quiet", "-input-charset", "utf-8", "-output", dir.SeedTempFile, "-volid", "cidata", "-joliet", "-rock", .. contents],
                ToolTimeout);
            var length = new FileInfo(dir.SeedTempFile).Length;
            if (length > Size)
                throw new VmmException($"the seed of machine {id:D} is {length} bytes, more than the {Size} every seed has");
            // Zeros after the last sector the file system uses are outside it: the ISO reads the same.
            using (var seed = new FileStream(dir.SeedTempFile, FileMode.Open, FileAccess.Write))
                seed.SetLength(Size);
            AtomicFile.SyncFile(dir.SeedTempFile);
            AtomicFile.Rename(dir.SeedTempFile, dir.Seed);
        }
        finally
        {
            Directory.Delete(files, recursive: true);
            File.Delete(dir.SeedTempFile);
        }
    }
}

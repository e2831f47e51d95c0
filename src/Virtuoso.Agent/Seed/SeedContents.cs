using System.Globalization;
using System.Text;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Seed;

/// <summary>
/// The two files of a cloud-init NoCloud seed (issue 14): <c>meta-data</c> and <c>user-data</c>, exactly as a cloud image's
/// cloud-init reads them, and as the <c>linux-busybox</c> guest's rcS parses them (docs/guest.md). Pure.
/// Every value is a YAML double-quoted scalar, so nothing a buyer chose (a key's comment, a hostname) can end the
/// scalar and add YAML of its own, nor be read as another type (<c>true</c>, <c>0x1</c>, <c>null</c>).
/// </summary>
internal static class SeedContents
{
    /// <summary>The metadata of a machine started without any (an older front-end): its id as hostname, no keys.</summary>
    public static GuestMetadata Default(Guid id) => new(id.ToString("D"), []);

    public static string MetaData(Guid id, GuestMetadata metadata) =>
        $"instance-id: {Quote(id.ToString("D"))}\nlocal-hostname: {Quote(metadata.Hostname)}\n";

    public static string UserData(GuestMetadata metadata)
    {
        var text = new StringBuilder("#cloud-config\n");
        if (metadata.SshKeys.Count == 0)
            return text.Append("ssh_authorized_keys: []\n").ToString();
        text.Append("ssh_authorized_keys:\n");
        foreach (var key in metadata.SshKeys)
            text.Append("  - ").Append(Quote(key)).Append('\n');
        return text.ToString();
    }

    /// <summary>
    /// The seed's <c>network-config</c> (cloud-init's network config version 2) of a machine with a private NIC (issue 16,
    /// design §10): the first NIC (QEMU's user-mode network, the derived MAC) by DHCP, as cloud-init's fallback would do;
    /// the private NIC (the machine's MAC) with its fixed address and the overlay's MTU, no gateway. Both matched by MAC,
    /// so names do not matter. A guest that reads no network-config gets the same from DHCP on each NIC (the agent answers
    /// on the private one). Null without a private network.
    /// </summary>
    public static string? NetworkConfig(string mac, PrivateNetwork? network) => network is null ? null :
        "version: 2\nethernets:\n" +
        $"  nat:\n    match:\n      macaddress: {Quote(Network.NetworkNames.UserNicMac(mac))}\n    dhcp4: true\n" +
        $"  private:\n    match:\n      macaddress: {Quote(mac)}\n    addresses: [{Quote($"{network.Address}/{network.PrefixLength}")}]\n" +
        $"    mtu: {Network.NetworkNames.Mtu}\n";

    /// <summary>
    /// A YAML double-quoted scalar. <c>\</c> and <c>"</c> are escaped; so is anything that is not printable (control and
    /// format characters, line and paragraph separators, which YAML 1.1 reads as line breaks, lone surrogates), as
    /// <c>\uXXXX</c>. The agent's validation already refuses such characters in what it is sent; this holds on its own.
    /// </summary>
    public static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\\' || c == '"')
                text.Append('\\').Append(c);
            else if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                text.Append(c).Append(value[++i]);
            else if (IsUnsafe(c))
                text.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            else
                text.Append(c);
        }
        return text.Append('"').ToString();
    }

    /// <summary>Characters that must never appear raw in a seed: they could break a line or hide in one.</summary>
    public static bool IsUnsafe(char c) => char.GetUnicodeCategory(c) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
}

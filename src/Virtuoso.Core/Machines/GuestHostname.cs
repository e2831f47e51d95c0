using System.Text;

namespace Virtuoso.Core.Machines;

/// <summary>
/// The hostname a guest is given in its cloud-init seed (issue 14): the machine's name made an RFC 1123 label, as
/// clouds do with an instance name — lower case, letters, digits and '-', at most 63 characters, no '-' at either
/// end. A name with nothing usable left (all symbols, say) gives <c>vm-</c> and the id's first 8 characters.
/// </summary>
public static class GuestHostname
{
    public static string From(string name, MachineId id)
    {
        var label = new StringBuilder(Math.Min(name.Length, 63));
        foreach (var ch in name.ToLowerInvariant())
        {
            if (label.Length == 63) break;
            var keep = ch is >= 'a' and <= 'z' or >= '0' and <= '9' ? ch : '-';
            if (keep == '-' && (label.Length == 0 || label[^1] == '-')) continue; // no leading or doubled '-'
            label.Append(keep);
        }
        var text = label.ToString().TrimEnd('-');
        return text.Length > 0 ? text : "vm-" + id.Short;
    }
}

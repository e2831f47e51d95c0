namespace Virtuoso.Core.Machines;

/// <summary>A machine's 128-bit global id (§6.1.5), written as its 36-character "D" form wherever it is text.</summary>
public readonly record struct MachineId(Guid Value)
{
    public static MachineId New() => new(Guid.NewGuid());
    public static MachineId Parse(string text) => new(Guid.Parse(text));
    public override string ToString() => Value.ToString("D");
    /// <summary>The first 8 characters, as the web pages and the CLI abbreviate it.</summary>
    public string Short => ToString()[..8];
    public static implicit operator Guid(MachineId id) => id.Value;
    public static implicit operator MachineId(Guid id) => new(id);
}

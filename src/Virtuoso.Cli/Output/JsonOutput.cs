using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Virtuoso.Cli.Output;

/// <summary>JSON as read from the server and as printed with <c>--json</c>.</summary>
internal static class JsonOutput
{
    /// <summary>What the server speaks: System.Text.Json web defaults (camelCase).</summary>
    public static readonly JsonSerializerOptions Wire = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// What <c>--json</c> prints: the same names, indented, decimals as JSON numbers without trailing zeros
    /// (the server's 2.448000 prints as 2.448), and no HTML escaping since this is not going into a page.
    /// </summary>
    public static readonly JsonSerializerOptions Printed = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new PlainDecimalConverter() },
    };

    public static void Write<T>(TextWriter output, T value) =>
        output.WriteLine(value is null ? "{}" : JsonSerializer.Serialize(value, Printed));

    private sealed class PlainDecimalConverter : JsonConverter<decimal>
    {
        public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDecimal();

        public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options) =>
            writer.WriteRawValue(Text.Number(value), skipInputValidation: true);
    }
}

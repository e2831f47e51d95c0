using System.Text.Json;
using Virtuoso.Cli.Output;

namespace Virtuoso.Cli.Accounts;

/// <summary>A login kept between runs: which server, who, and the bearer token it gave.</summary>
internal sealed record Credentials(string Server, string Username, string Type, string Token);

/// <summary>
/// <c>credentials.json</c> under <c>$VIRTUOSO_HOME</c> (default <c>~/.virtuoso</c>). The token is as good as the
/// password, so the directory is 0700 and the file 0600, written atomically (temporary file, then rename).
/// </summary>
internal sealed class CredentialStore(string directory)
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerOnlyFile | UnixFileMode.UserExecute;

    public string FilePath { get; } = Path.Combine(directory, "credentials.json");

    /// <summary>The stored login, or null when there is none.</summary>
    public Result<Credentials?> Load()
    {
        try
        {
            if (!File.Exists(FilePath))
            {
                return (Credentials?)null;
            }

            var credentials = JsonSerializer.Deserialize<Credentials>(File.ReadAllText(FilePath), JsonOutput.Wire);
            return credentials is { Server.Length: > 0, Token.Length: > 0 }
                ? credentials
                : Unreadable("it lacks the server or the token");
        }
        catch (JsonException exception)
        {
            return Unreadable(exception.Message);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return Unreadable(exception.Message);
        }
    }

    public Failure? Save(Credentials credentials)
    {
        var temporary = FilePath + ".tmp";
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, OwnerOnlyDirectory);
            }

            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = OwnerOnlyFile;
            }

            using (var stream = new FileStream(temporary, options))
            {
                JsonSerializer.Serialize(stream, credentials, JsonOutput.Printed);
            }

            if (!OperatingSystem.IsWindows())
            {
                // A leftover temporary file keeps its old mode under FileMode.Create: set it, never trust it.
                File.SetUnixFileMode(temporary, OwnerOnlyFile);
            }

            File.Move(temporary, FilePath, overwrite: true);
            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return new Failure(ExitCode.Refused, $"cannot write {FilePath}: {exception.Message}", Failure.LocalFilesCode);
        }
    }

    public Failure? Delete()
    {
        try
        {
            File.Delete(FilePath);
            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return new Failure(ExitCode.Refused, $"cannot remove {FilePath}: {exception.Message}", Failure.LocalFilesCode);
        }
    }

    private Failure Unreadable(string why) =>
        new(ExitCode.Refused, $"cannot read {FilePath} ({why}); log in again or remove it", Failure.LocalFilesCode);
}

using Virtuoso.Cli.Accounts;

namespace Virtuoso.Cli.Tests.Accounts;

public sealed class CredentialStoreTests : IDisposable
{
    private readonly string directory = Path.Combine(Directory.CreateTempSubdirectory("virtuoso-creds-").FullName, "home");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(directory)!, recursive: true);

    [Fact]
    public void SaveThenLoad_RoundTrips()
    {
        var store = new CredentialStore(directory);
        var credentials = new Credentials("http://127.0.0.1:5080", "alice", "buyer", "tok");

        Assert.Null(store.Save(credentials));

        Assert.False(store.Load().Failed(out _, out var loaded));
        Assert.Equal(credentials, loaded);
    }

    [Fact]
    public void Load_WithoutAFile_IsNoLogin()
    {
        Assert.False(new CredentialStore(directory).Load().Failed(out _, out var loaded));
        Assert.Null(loaded);
    }

    [Fact]
    public void Load_OfAFileWithoutToken_IsAFailure()
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "credentials.json"), """{"server":"http://x","username":"a"}""");
        Assert.True(new CredentialStore(directory).Load().Failed(out var failure, out _));
        Assert.Equal(Failure.LocalFilesCode, failure.Code);
    }

    [Fact]
    public void Delete_RemovesTheFile_AndIsIdempotent()
    {
        var store = new CredentialStore(directory);
        store.Save(new Credentials("http://x", "a", "buyer", "t"));
        Assert.Null(store.Delete());
        Assert.Null(store.Delete());
        Assert.False(File.Exists(store.FilePath));
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Virtuoso.Agent.Tests.Support;
using Virtuoso.Contracts.Agent;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Tests.Machines;

/// <summary>The control API against a fake VMM: validation, states, versions, idempotency, errors.</summary>
public sealed class MachineEndpointsTests : IAsyncLifetime
{
    private readonly TestDirectory _dir = new();
    private readonly FakeVmm _vmm = new();
    private AgentFactory _agent = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        var images = _dir.Sub("images");
        WriteImage(images, "linux-busybox", minMemoryMb: 128, minDiskMb: 1000);
        _agent = new AgentFactory(_dir.Sub("data"), _vmm, new Dictionary<string, string?> { ["images"] = images });
        _client = _agent.CreateAuthenticatedClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Create_Blank_MakesTheDirectoryRecordAndDisk()
    {
        var id = Guid.NewGuid();

        var machine = await _client.CreateAsync(AgentApi.Blank(id, version: 4, mac: "52:54:00:AB:CD:EF"));

        Assert.Equal(new AgentMachine(id, AgentStates.Stopped, 4, "52:54:00:ab:cd:ef", 128, 100, null, null), machine);
        var dir = Path.Combine(_agent.DataDirectory, "machines", id.ToString("D"));
        Assert.True(File.Exists(Path.Combine(dir, "disk.qcow2")));
        var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "machine.json"))).RootElement;
        Assert.Equal("stopped", record.GetProperty("intent").GetString());
        Assert.Equal(4, record.GetProperty("version").GetInt64());
        Assert.Equal(JsonValueKind.Null, record.GetProperty("originHost").ValueKind);
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(_agent.DataDirectory, "machines"), ".creating-*"));
    }

    [Fact]
    public async Task Create_SameIdAndSpecAgain_IsIdempotent()
    {
        var request = AgentApi.Blank(Guid.NewGuid());
        var first = await _client.CreateAsync(request);

        var second = await _client.CreateAsync(request with { Mac = request.Mac.ToUpperInvariant() });

        Assert.Equal(first, second);
        Assert.Equal(["create"], _vmm.Calls);
    }

    [Fact]
    public async Task Create_SameIdOtherSpec_IsConflict()
    {
        var request = AgentApi.Blank(Guid.NewGuid());
        await _client.CreateAsync(request);

        var response = await _client.PutAsJsonAsync(AgentRoutes.Machine(request.Id), request with { MemoryMb = 256 });

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.Conflict, ErrorCodes.Conflict);
        Assert.Equal(128, (await _client.GetMachineAsync(request.Id)).MemoryMb);
    }

    [Fact]
    public async Task Create_Preconfigured_CachesTheImageOnceAndOverlaysIt()
    {
        var a = AgentApi.Blank(Guid.NewGuid(), memoryMb: 256, diskMb: 1000) with { Image = "linux-busybox" };
        var b = AgentApi.Blank(Guid.NewGuid(), memoryMb: 128, diskMb: 2000) with { Image = "linux-busybox" };

        await _client.CreateAsync(a);
        var machine = await _client.CreateAsync(b);

        Assert.Equal("linux-busybox", machine.Image);
        var cached = Path.Combine(_agent.DataDirectory, "images", "linux-busybox");
        Assert.Equal("kernel bytes", File.ReadAllText(Path.Combine(cached, "vmlinuz")));
        Assert.True(File.Exists(Path.Combine(cached, "verified.json")));
        Assert.Single(Directory.EnumerateDirectories(Path.Combine(_agent.DataDirectory, "images")));
        var disk = File.ReadAllText(Path.Combine(_agent.DataDirectory, "machines", b.Id.ToString("D"), "disk.qcow2"));
        Assert.Equal($"overlay of {Path.Combine(cached, "disk.qcow2")}, 2000M", disk);
    }

    [Theory]
    [InlineData(64, 1000, "memory")]
    [InlineData(256, 999, "disk")]
    public async Task Create_BelowTheImageMinimum_IsValidationError(long memoryMb, long diskMb, string what)
    {
        var request = AgentApi.Blank(Guid.NewGuid(), memoryMb: memoryMb, diskMb: diskMb) with { Image = "linux-busybox" };

        var response = await _client.PutAsJsonAsync(AgentRoutes.Machine(request.Id), request);

        var detail = await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.Validation);
        Assert.Contains($"MB of {what}", detail);
        await AssertNoMachinesAsync();
    }

    public static TheoryData<string, string> BadCreates() => new()
    {
        { "bad MAC", """{"id":"{ID}","mac":"52:54:00:12:34","speedBogomips":1000,"memoryMb":128,"diskMb":100,"image":null,"version":1}""" },
        { "MAC with newline", """{"id":"{ID}","mac":"52:54:00:12:34:56\n","speedBogomips":1000,"memoryMb":128,"diskMb":100,"image":null,"version":1}""" },
        { "multicast MAC", """{"id":"{ID}","mac":"01:00:5e:00:00:01","speedBogomips":1000,"memoryMb":128,"diskMb":100,"image":null,"version":1}""" },
        { "no MAC", """{"id":"{ID}","speedBogomips":1000,"memoryMb":128,"diskMb":100,"image":null,"version":1}""" },
        { "zero memory", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":0,"diskMb":100,"image":null,"version":1}""" },
        { "negative disk", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":128,"diskMb":-5,"image":null,"version":1}""" },
        { "memory over 1 TiB", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":1048577,"diskMb":100,"image":null,"version":1}""" },
        { "absurd disk", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":128,"diskMb":9223372036854775807,"image":null,"version":1}""" },
        { "size beyond long", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":1e30,"diskMb":100,"image":null,"version":1}""" },
        { "zero speed", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":0,"memoryMb":128,"diskMb":100,"image":null,"version":1}""" },
        { "zero host speed", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":128,"diskMb":100,"image":null,"version":1,"hostSpeedBogomips":0}""" },
        { "negative host speed", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":128,"diskMb":100,"image":null,"version":1,"hostSpeedBogomips":-10000}""" },
        { "negative version", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":128,"diskMb":100,"image":null,"version":-1}""" },
        { "other id in body", """{"id":"6f1b0a2e-6a55-4c4e-9d7a-1d2b3c4d5e6f","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":128,"diskMb":100,"image":null,"version":1}""" },
        { "image path traversal", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":128,"diskMb":1000,"image":"../../etc","version":1}""" },
        { "image dot-dot", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":128,"diskMb":1000,"image":"..","version":1}""" },
        { "image absolute", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":128,"diskMb":1000,"image":"/etc","version":1}""" },
        { "unknown image", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":1000,"memoryMb":128,"diskMb":1000,"image":"windows-95","version":1}""" },
        { "not json", "this is not json" },
        { "empty body", "" },
        { "json null", "null" },
        { "wrong type", """{"id":"{ID}","mac":"52:54:00:12:34:56","speedBogomips":"fast","memoryMb":128,"diskMb":100,"image":null,"version":1}""" },
    };

    [Theory]
    [MemberData(nameof(BadCreates))]
    public async Task Create_Malformed_IsValidationErrorAndCreatesNothing(string why, string body)
    {
        var id = Guid.NewGuid();
        var content = new StringContent(body.Replace("{ID}", id.ToString("D")), Encoding.UTF8, "application/json");

        var response = await _client.PutAsync(AgentRoutes.Machine(id), content);

        var detail = await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.Validation);
        Assert.False(string.IsNullOrWhiteSpace(detail), why);
        await AssertNoMachinesAsync();
        Assert.Empty(_vmm.Calls);
    }

    public static TheoryData<string, string> BadIds() => new()
    {
        { "GET", "/v1/machines/not-a-guid" },
        { "GET", "/v1/machines/00000000-0000-0000-0000-000000000000" },
        { "PUT", "/v1/machines/12345" },
        { "POST", "/v1/machines/..%2F..%2Fetc/start" },
        { "POST", "/v1/machines/xyz/stop" },
        { "DELETE", "/v1/machines/xyz" },
        { "GET", "/v1/machines/xyz/serial" },
    };

    [Theory]
    [MemberData(nameof(BadIds))]
    public async Task AnyRoute_MalformedId_IsValidationError(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method is "GET" or "DELETE" ? null : JsonContent.Create(new MachineCommand(1, 1)),
        };

        var response = await _client.SendAsync(request);

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.Validation);
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("POST", "/start")]
    [InlineData("POST", "/resume")]
    [InlineData("DELETE", "")]
    [InlineData("GET", "/serial")]
    public async Task AnyRoute_UnknownMachine_IsNotFound(string method, string suffix)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), AgentRoutes.Machine(Guid.NewGuid()) + suffix)
        {
            Content = method == "POST" ? JsonContent.Create(new MachineCommand(1, 1)) : null,
        };

        var response = await _client.SendAsync(request);

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.NotFound, ErrorCodes.NotFound);
    }

    [Fact]
    public async Task Commands_FollowTheStatesAndPersistTheNewVersions()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));

        var started = await _client.CommandAsync(id, "start", 1, 1);
        var suspended = await _client.CommandAsync(id, "suspend", 1, 2);
        var resumed = await _client.CommandAsync(id, "resume", 2, 2);
        var stopped = await _client.CommandAsync(id, "stop", 2, 3);

        Assert.Equal((AgentStates.Running, 1L), (started.State, started.Version));
        Assert.NotNull(started.Pid);
        Assert.Equal((AgentStates.Suspended, 2L, (int?)null), (suspended.State, suspended.Version, suspended.Pid));
        Assert.Equal((AgentStates.Running, 2L), (resumed.State, resumed.Version));
        Assert.Equal((AgentStates.Stopped, 3L, (int?)null), (stopped.State, stopped.Version, stopped.Pid));
        var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(_agent.DataDirectory, "machines", id.ToString("D"), "machine.json"))).RootElement;
        Assert.Equal(3, record.GetProperty("version").GetInt64());
        Assert.Equal("stopped", record.GetProperty("intent").GetString());
        var events = File.ReadAllLines(Path.Combine(_agent.DataDirectory, "events.log"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("machine", out var m) && m.GetGuid() == id)
            .Select(e => $"{e.GetProperty("kind").GetString()} {e.GetProperty("state").GetString()} v{e.GetProperty("version").GetInt64()}");
        Assert.Equal(["created stopped v1", "started running v1", "suspended suspended v2", "resumed running v2", "stopped stopped v3"], events);
    }

    [Theory]
    [InlineData("stopped", "stop")]
    [InlineData("stopped", "suspend")]
    [InlineData("stopped", "resume")]
    [InlineData("running", "start")]
    [InlineData("running", "resume")]
    [InlineData("suspended", "start")]
    [InlineData("suspended", "stop")]
    [InlineData("suspended", "suspend")]
    public async Task Command_NotAllowedInTheState_IsInvalidStateAndChangesNothing(string state, string verb)
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 5));
        if (state != "stopped")
            await _client.CommandAsync(id, "start", 5, 5);
        if (state == "suspended")
            await _client.CommandAsync(id, "suspend", 5, 5);
        var calls = _vmm.Calls.Count;

        var response = await _client.PostCommandAsync(id, verb, 5, 6);

        var detail = await AgentApi.AssertProblemAsync(response, HttpStatusCode.Conflict, ErrorCodes.InvalidState);
        Assert.Contains($"it is {state}", detail);
        var machine = await _client.GetMachineAsync(id);
        Assert.Equal((state, 5L), (machine.State, machine.Version));
        Assert.Equal(calls, _vmm.Calls.Count);
    }

    [Fact]
    public async Task Command_WithAnotherExpectedVersion_IsVersionMismatchAndChangesNothing()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 7));

        var response = await _client.PostCommandAsync(id, "start", 6, 6);

        var detail = await AgentApi.AssertProblemAsync(response, HttpStatusCode.Conflict, ErrorCodes.VersionMismatch);
        Assert.Contains("holds version 7", detail);
        Assert.Equal(AgentStates.Stopped, (await _client.GetMachineAsync(id)).State);
        Assert.Equal(["create"], _vmm.Calls);
    }

    [Theory]
    [InlineData("""{"expectedVersion":3,"newVersion":2}""")]
    [InlineData("""{"expectedVersion":-1,"newVersion":0}""")]
    [InlineData("""{"expectedVersion":"x"}""")]
    [InlineData("")]
    public async Task Command_MalformedBody_IsValidationError(string body)
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 3));

        var response = await _client.PostAsync(AgentRoutes.Command(id, "start"), new StringContent(body, Encoding.UTF8, "application/json"));

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.Validation);
        Assert.Equal(AgentStates.Stopped, (await _client.GetMachineAsync(id)).State);
    }

    [Fact]
    public async Task Start_WithBadMetadata_IsValidationError_AndChangesNothing()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 3));
        var command = new MachineCommand(3, 3, new GuestMetadata("web-1", ["ssh-ed25519 AAAA a\nruncmd: [reboot]"]));

        var response = await _client.PostAsJsonAsync(AgentRoutes.Command(id, "start"), command);

        var detail = await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.Validation);
        Assert.Contains("sshKeys[0] is more than one line", detail);
        Assert.Equal(AgentStates.Stopped, (await _client.GetMachineAsync(id)).State);
        Assert.False(File.Exists(Path.Combine(_agent.DataDirectory, "machines", id.ToString("D"), "seed.iso")));
    }

    [Fact]
    public async Task Start_AttachesAFreshSeed_AndForwardsThePorts_ResumeRebuildsAMissingSeedFromTheRecord()
    {
        var id = Guid.NewGuid();
        var dir = Path.Combine(_agent.DataDirectory, "machines", id.ToString("D"));
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));
        var metadata = new GuestMetadata("web-1", ["ssh-ed25519 AAAA me@x"]);

        await _client.CommandAsync(id, "start", new MachineCommand(1, 1, metadata, [new PortForward(40022, 22)]));

        Assert.True(_vmm.Launches.TryDequeue(out var start));
        Assert.Equal((Path.Combine(dir, "seed.iso"), 40022, 22, "127.0.0.1"),
            (start.Seed, start.Forwards!.Single().HostPort, start.Forwards!.Single().GuestPort, start.ForwardAddress));
        Assert.Equal(1L << 20, new FileInfo(start.Seed!).Length);
        Assert.Contains("\"metadata\"", File.ReadAllText(Path.Combine(dir, "machine.json")));

        // The seed did not come along (as after a migration in suspended): the resume makes one from the record.
        await _client.CommandAsync(id, "suspend", 1, 2);
        File.Delete(Path.Combine(dir, "seed.iso"));
        await _client.CommandAsync(id, "resume", 2, 2);

        Assert.True(_vmm.Launches.TryDequeue(out var resume));
        Assert.Equal((start.Seed, 0), (resume.Seed, resume.Forwards!.Count));
        Assert.Equal(1L << 20, new FileInfo(resume.Seed!).Length);
        Assert.Contains("web-1", ReadIso9660Text(resume.Seed!));
    }

    [Fact]
    public async Task Start_WithoutMetadata_NamesTheGuestAfterTheMachineId()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));

        await _client.CommandAsync(id, "start", 1, 1);

        Assert.Contains($"local-hostname: \"{id:D}\"", ReadIso9660Text(Path.Combine(_agent.DataDirectory, "machines", id.ToString("D"), "seed.iso")));
    }

    // The seed's files are tiny and stored uncompressed: their text is in the image as it is.
    private static string ReadIso9660Text(string path) => Encoding.UTF8.GetString(File.ReadAllBytes(path));

    [Fact]
    public async Task Suspend_WhenTheVmmFails_IsAgentFailedAndTheMachineRunsOnAtTheSameVersion()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 2));
        await _client.CommandAsync(id, "start", 2, 2);
        _vmm.FailNext = "suspend";

        var response = await _client.PostCommandAsync(id, "suspend", 2, 3);

        var detail = await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadGateway, ErrorCodes.AgentFailed);
        Assert.Contains("fake suspend failed", detail);
        Assert.Contains("it is running", detail);
        var machine = await _client.GetMachineAsync(id);
        Assert.Equal((AgentStates.Running, 2L), (machine.State, machine.Version));
    }

    /// <summary>
    /// Issue 14: a host port held by another program (as one the kernel lends an outgoing connection) would make QEMU exit
    /// at start-up; the agent refuses the start or resume first, names the port, and changes nothing.
    /// </summary>
    [Fact]
    public async Task StartOrResume_WithAForwardedPortHeldByAnotherProgram_IsPortBusyAndChangesNothing()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));
        var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var held = ((IPEndPoint)other.LocalEndpoint).Port;
        var free = TestPorts.Free();
        var command = new MachineCommand(1, 1, null, [new PortForward(free, 22), new PortForward(held, 8080)]);

        var refused = await _client.PostAsJsonAsync(AgentRoutes.Command(id, "start"), command);

        var detail = await AgentApi.AssertProblemAsync(refused, HttpStatusCode.Conflict, ErrorCodes.PortBusy);
        Assert.Contains($"host port {held} on 127.0.0.1 is held by another program", detail);
        Assert.DoesNotContain(free.ToString(System.Globalization.CultureInfo.InvariantCulture), detail);
        Assert.Empty(_vmm.Launches);
        Assert.Equal((AgentStates.Stopped, 1L), ((await _client.GetMachineAsync(id)).State, (await _client.GetMachineAsync(id)).Version));

        // Suspended, the same holds for the resume; once the port is free the same command goes through.
        other.Stop();
        await _client.CommandAsync(id, "start", command);
        await _client.CommandAsync(id, "suspend", 1, 2);
        other = new TcpListener(IPAddress.Loopback, held);
        other.Start();
        var resume = command with { ExpectedVersion = 2, NewVersion = 2 };
        await AgentApi.AssertProblemAsync(await _client.PostAsJsonAsync(AgentRoutes.Command(id, "resume"), resume), HttpStatusCode.Conflict, ErrorCodes.PortBusy);
        Assert.Equal((AgentStates.Suspended, 2L), ((await _client.GetMachineAsync(id)).State, (await _client.GetMachineAsync(id)).Version));
        other.Stop();
        Assert.Equal(AgentStates.Running, (await _client.CommandAsync(id, "resume", resume)).State);
    }

    [Fact]
    public async Task Start_WhenTheVmmFails_IsAgentFailedAndTheMachineStaysStopped()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 2));
        _vmm.FailNext = "start";

        var response = await _client.PostCommandAsync(id, "start", 2, 2);

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadGateway, ErrorCodes.AgentFailed);
        Assert.Equal(AgentStates.Stopped, (await _client.GetMachineAsync(id)).State);
    }

    [Fact]
    public async Task Create_WhenTheDiskCannotBeMade_IsAgentFailedAndLeavesNothing()
    {
        var id = Guid.NewGuid();
        _vmm.FailNext = "create";

        var response = await _client.PutAsJsonAsync(AgentRoutes.Machine(id), AgentApi.Blank(id));

        await AgentApi.AssertProblemAsync(response, HttpStatusCode.BadGateway, ErrorCodes.AgentFailed);
        await AssertNoMachinesAsync();
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_agent.DataDirectory, "machines")));
    }

    [Fact]
    public async Task Status_WhenQemuDiedUnexpectedly_IsReportedStoppedAndCanStartAgain()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 2));
        await _client.CommandAsync(id, "start", 2, 2);

        _vmm.Crash(id);

        Assert.Equal(AgentStates.Stopped, (await _client.GetMachineAsync(id)).State);
        Assert.Equal(AgentStates.Running, (await _client.CommandAsync(id, "start", 2, 2)).State);
    }

    [Fact]
    public async Task Delete_Running_IsInvalidState_Stopped_IsGone()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));
        await _client.CommandAsync(id, "start", 1, 1);

        var refused = await _client.DeleteAsync(AgentRoutes.Machine(id));
        await AgentApi.AssertProblemAsync(refused, HttpStatusCode.Conflict, ErrorCodes.InvalidState);
        Assert.Equal(AgentStates.Running, (await _client.GetMachineAsync(id)).State);

        await _client.CommandAsync(id, "stop", 1, 2);
        var deleted = await _client.DeleteAsync(AgentRoutes.Machine(id));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await AgentApi.AssertProblemAsync(await _client.GetAsync(AgentRoutes.Machine(id)), HttpStatusCode.NotFound, ErrorCodes.NotFound);
        Assert.False(Directory.Exists(Path.Combine(_agent.DataDirectory, "machines", id.ToString("D"))));
    }

    [Fact]
    public async Task Delete_Suspended_RemovesTheSavedStateToo()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));
        await _client.CommandAsync(id, "start", 1, 1);
        await _client.CommandAsync(id, "suspend", 1, 2);

        var deleted = await _client.DeleteAsync(AgentRoutes.Machine(id));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_agent.DataDirectory, "machines")));
    }

    [Fact]
    public async Task ConcurrentStarts_RunOneAtATime_TheSecondAnswersTheFirstsResult()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));
        _vmm.StartDelay = TimeSpan.FromMilliseconds(300);

        var responses = await Task.WhenAll(
            _client.PostCommandAsync(id, "start", 1, 1),
            _client.PostCommandAsync(id, "start", 1, 1));

        // Issue 13: the same (machine, target version) is idempotent; the QEMU is started once.
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], responses.Select(r => r.StatusCode));
        Assert.Single(_vmm.Calls, c => c == "start");
    }

    [Fact]
    public async Task SettledStatus_WaitsForTheCommandUnderWay_PlainStatusDoesNot()
    {
        // Issue 13: the front-end's reconciler decides on the settled state, never on one caught half-way through a command.
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));
        _vmm.StartDelay = TimeSpan.FromMilliseconds(600);

        var start = _client.PostCommandAsync(id, "start", 1, 1);
        await Task.Delay(150);
        var plain = await _client.GetMachineAsync(id);
        var settled = await _client.GetFromJsonAsync<AgentMachine>($"/v1/machines/{id:D}?settled=true", JsonSerializerOptions.Web);

        Assert.True(start.IsCompleted, "the settled answer came only after the start had ended");
        Assert.Equal(AgentStates.Stopped, plain.State);
        Assert.Equal((AgentStates.Running, 1L), (settled!.State, settled.Version));
    }

    [Fact]
    public async Task Command_RepeatedAfterItHappened_AnswersItsResultWithoutActingAgain()
    {
        // Issue 13: a front-end that lost the answer (it crashed, the link broke) or its reconciler asks again.
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id, version: 1));
        var steps = new (string Verb, long From, long To, string State)[]
        {
            ("start", 1, 1, AgentStates.Running), ("suspend", 1, 2, AgentStates.Suspended),
            ("resume", 2, 2, AgentStates.Running), ("stop", 2, 3, AgentStates.Stopped),
        };
        foreach (var (verb, from, to, state) in steps)
        {
            var first = await _client.CommandAsync(id, verb, from, to);
            var again = await _client.CommandAsync(id, verb, from, to);
            Assert.Equal((state, to), (first.State, first.Version));
            Assert.Equal((state, to), (again.State, again.Version));
        }
        Assert.Equal(["create", "start", "suspend", "resume", "stop"], _vmm.Calls);

        // An old command whose result was overtaken is not "done": it is refused as before.
        var stale = await _client.PostCommandAsync(id, "start", 1, 1);
        await AgentApi.AssertProblemAsync(stale, HttpStatusCode.Conflict, ErrorCodes.VersionMismatch);
        Assert.Equal((AgentStates.Stopped, 3L), ((await _client.GetMachineAsync(id)).State, (await _client.GetMachineAsync(id)).Version));
    }

    [Fact]
    public async Task Serial_BeforeAnyBoot_IsEmptyText_AfterwardsTheLog()
    {
        var id = Guid.NewGuid();
        await _client.CreateAsync(AgentApi.Blank(id));

        var empty = await _client.GetAsync(AgentRoutes.Serial(id));
        Assert.Equal("text/plain", empty.Content.Headers.ContentType?.MediaType);
        Assert.Equal("", await empty.Content.ReadAsStringAsync());

        File.WriteAllText(Path.Combine(_agent.DataDirectory, "machines", id.ToString("D"), "serial.log"), "SeaBIOS\r\nVirtuoso guest ready\r\n");
        Assert.Equal("SeaBIOS\r\nVirtuoso guest ready\r\n", await _client.GetStringAsync(AgentRoutes.Serial(id)));
    }

    [Fact]
    public async Task List_ShowsEveryMachineWithItsTrueState()
    {
        var a = Guid.Parse("10000000-0000-0000-0000-000000000001");
        var b = Guid.Parse("20000000-0000-0000-0000-000000000002");
        await _client.CreateAsync(AgentApi.Blank(b, version: 9));
        await _client.CreateAsync(AgentApi.Blank(a, version: 1));
        await _client.CommandAsync(b, "start", 9, 9);

        var machines = await _client.GetFromJsonAsync<AgentMachine[]>(AgentRoutes.Machines);

        Assert.Equal([(a, AgentStates.Stopped), (b, AgentStates.Running)], machines!.Select(m => (m.Id, m.State)));
    }

    private async Task AssertNoMachinesAsync() =>
        Assert.Empty((await _client.GetFromJsonAsync<AgentMachine[]>(AgentRoutes.Machines))!);

    internal static void WriteImage(string imagesDirectory, string name, long minMemoryMb, long minDiskMb)
    {
        var dir = Path.Combine(imagesDirectory, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "vmlinuz"), "kernel bytes");
        File.WriteAllText(Path.Combine(dir, "initrd.img"), "initrd bytes");
        File.WriteAllText(Path.Combine(dir, "disk.qcow2"), "base disk bytes");
        File.WriteAllText(Path.Combine(dir, "image.json"),
            $$"""{"name":"{{name}}","kernel":"vmlinuz","initrd":"initrd.img","disk":"disk.qcow2","append":"console=ttyS0","minMemoryMb":{{minMemoryMb}},"minDiskMb":{{minDiskMb}}}""");
    }
}

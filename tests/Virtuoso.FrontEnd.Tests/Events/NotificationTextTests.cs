using Virtuoso.FrontEnd.Events;

namespace Virtuoso.FrontEnd.Tests.Events;

/// <summary>Issue 18: a notification's words, from its event: a sentence per kind with the machine's name, the event's message as detail.</summary>
public sealed class NotificationTextTests
{
    private static readonly Guid Id = Guid.Parse("1a2b3c4d-0000-4000-8000-000000000001");

    [Theory]
    [InlineData("suspended-unpaid", "Your machine web1 was suspended: your balance did not cover its next running period. Add money, then resume it.")]
    [InlineData("powered-off", "Your machine web1 stopped: it was found powered off on its host.")]
    [InlineData("host-offline", "The host of your machine web1 is offline.")]
    [InlineData("host-back", "The host of your machine web1 answers again.")]
    [InlineData("host-deleted", "Your machine web1 was removed from its host: the provider deleted the host. Store it on another host.")]
    [InlineData("migration-done", "Your machine web1 finished migrating.")]
    [InlineData("migration-reverted", "The migration of your machine web1 failed; it stays where it was.")]
    [InlineData("migrated", "The machine web1 moved between hosts, one of them yours.")]
    public void MachineEvents_AreASentenceWithTheMachinesName(string kind, string text) =>
        Assert.Equal(text, NotificationText.Describe(kind, Id, "web1", "whatever the event said").Text);

    [Fact]
    public void EveryKind_HasItsOwnSentence() =>
        Assert.Equal(NotificationText.Kinds.Count, NotificationText.Kinds.Select(k => NotificationText.Describe(k, Id, "web1", "m").Text).Distinct().Count());

    [Fact]
    public void Detail_IsTheEventsMessage_WithTheMachinesIdReplacedByItsName()
    {
        var (_, detail) = NotificationText.Describe("migrated", Id, "web1", $"buyer's machine {Id:D} arrived on your host beta from alpha");

        Assert.Equal("buyer's machine web1 arrived on your host beta from alpha", detail);
    }

    [Fact]
    public void AMachineDeletedSince_IsNamedByItsShortId()
    {
        var (text, detail) = NotificationText.Describe("powered-off", Id, null, "found powered off");

        Assert.Equal("Your machine 1a2b3c4d (deleted since) stopped: it was found powered off on its host.", text);
        Assert.Equal("found powered off", detail);
    }

    [Fact]
    public void EventsWithoutAMachine_AreTheirOwnSentence()
    {
        const string message = "Your balance fell to $4.5, under the $5 you asked to be told at. Add money to keep your machines running.";

        Assert.Equal((message, null as string), NotificationText.Describe("balance-low", null, null, message));
    }
}

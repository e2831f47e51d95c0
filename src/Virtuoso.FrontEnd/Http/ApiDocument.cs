using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;

namespace Virtuoso.FrontEnd.Http;

/// <summary>
/// The API document, <c>/openapi/v1.json</c> (issue 20 point 3): complete enough for a standard generator (Kiota, NSwag,
/// openapi-generator, openapi-typescript) to make a working client, and clean under Redocly's recommended lint
/// (tools/openapi). Endpoints say what they are with metadata (<c>WithName</c>, <c>WithSummary</c>, <c>Produces</c>,
/// <see cref="Refuses{TBuilder}"/>); what every endpoint shares is added here once, from that metadata: the security
/// schemes and each operation's requirement, the problem-details answers with their stable codes (titles and statuses
/// from <see cref="Failure.Table"/>, the same table that answers), and the tags' descriptions.
/// </summary>
internal static class ApiDocument
{
    public const string Session = "session";
    public const string ApiKey = "apiKey";
    private const string ProblemSchema = "Problem";
    private const string ProblemMediaType = "application/problem+json";

    /// <summary>The codes an endpoint refuses with, besides those its authorization and body imply (<see cref="ImpliedCodes"/>).</summary>
    internal sealed record FailureCodes(IReadOnlyList<string> Codes);

    /// <summary>The endpoint is refused to API keys: it needs a session, i.e. a password log-in (making and revoking keys).</summary>
    internal sealed record SessionOnly;

    /// <summary>Documents the stable codes this endpoint can refuse with (each must have a row in <see cref="Failure.Table"/>).</summary>
    public static TBuilder Refuses<TBuilder>(this TBuilder builder, params string[] codes) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var code in codes)
            if (!Failure.Table.ContainsKey(code)) throw new ArgumentException($"error code '{code}' has no row in Failure.Table", nameof(codes));
        return builder.WithMetadata(new FailureCodes(codes));
    }

    private static readonly Dictionary<string, string> TagDescriptions = new()
    {
        ["Accounts"] = "Sign up, log in, the account's balance, SSH keys, API keys, events, notifications, ledger and statements.",
        ["Market"] = "Open to anyone: configurations with their market estimates, the image catalogue and the provider marketplace.",
        ["Machines"] = "A buyer's machines: register, search for a host, store, start, stop, suspend, resume, ports, migration, console and tunnels.",
        ["ISO images"] = "A buyer's bootable ISO images, attached to a machine as its CD-ROM.",
        ["Private networks"] = "A buyer's private networks between their machines.",
        ["Hosts"] = "A provider's hosts: add, test, edit and delete.",
        ["Operations"] = "For the operator's monitoring.",
    };

    public static IServiceCollection AddApiDocument(this IServiceCollection services) => services.AddOpenApi("v1", o =>
    {
        // 3.0 rather than 3.1: what most generators read fully today (Go's oapi-codegen, openapi-generator's clients).
        o.OpenApiVersion = OpenApiSpecVersion.OpenApi3_0;
        o.AddSchemaTransformer((schema, context, _) =>
        {
            NumbersAreNumbers(schema, context.JsonTypeInfo.Type);
            return Task.CompletedTask;
        });
        o.AddOperationTransformer((operation, context, _) =>
        {
            Describe(operation, context.Description.ActionDescriptor.EndpointMetadata, context.Document!,
                context.Description.HttpMethod ?? "GET", context.Description.ParameterDescriptions.Any(p => p.Source.Id == "Body"));
            return Task.CompletedTask;
        });
        o.AddDocumentTransformer((document, context, _) =>
        {
            Complete(document);
            return Task.CompletedTask;
        });
    });

    /// <summary>
    /// The API reads a number sent as a JSON string too (the web defaults), which the generated schema says as
    /// "integer or string with a pattern"; a client should send and expect numbers, so the document says numbers. Money
    /// (<see cref="decimal"/>) is <c>format: decimal</c>, so that generators that know it (Kiota) keep it exact.
    /// </summary>
    private static void NumbersAreNumbers(OpenApiSchema schema, Type type)
    {
        if (schema.Type is not { } t || (t & (JsonSchemaType.Integer | JsonSchemaType.Number)) == 0 || (t & JsonSchemaType.String) == 0) return;
        schema.Type = t & ~JsonSchemaType.String;
        schema.Pattern = null;
        if ((Nullable.GetUnderlyingType(type) ?? type) == typeof(decimal)) schema.Format = "decimal";
    }

    private static void Describe(OpenApiOperation operation, IList<object> metadata, OpenApiDocument document, string method, bool hasBody)
    {
        var authorize = metadata.OfType<IAuthorizeData>().ToList();
        var anonymous = authorize.Count == 0 || metadata.OfType<IAllowAnonymous>().Any();
        var sessionOnly = metadata.OfType<SessionOnly>().Any();
        operation.Security = anonymous
            ? [new OpenApiSecurityRequirement()] // {}: no credentials needed
            : sessionOnly
                ? [Requirement(Session, document)]
                : [Requirement(Session, document), Requirement(ApiKey, document)];
        var roles = authorize.Select(a => a.Policy ?? a.Roles).Where(r => r is not null).Distinct().ToList();
        if (roles.Count > 0 || sessionOnly)
        {
            var who = roles.Count > 0 ? $"Needs a {string.Join(" or ", roles)} account." : "";
            var how = sessionOnly ? "Needs a session (a password log-in, `POST /api/v1/sessions`): API keys are refused." : "";
            operation.Description = string.Join("\n\n", new[] { operation.Description, who, how }.Where(s => !string.IsNullOrEmpty(s)));
        }

        OptionalBody(operation);
        var codes = CodesOf(metadata, method, hasBody);
        operation.Responses ??= new OpenApiResponses();
        foreach (var status in codes.GroupBy(c => Failure.Table[c].Status).OrderBy(g => g.Key))
            operation.Responses[status.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)] = ProblemResponse(status.ToList(), document);
        // A body that is not JSON: 415 with code validation (Program.cs's problem details).
        if (hasBody && !metadata.OfType<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>().Any(a => a.ContentTypes.Contains("application/octet-stream")))
            operation.Responses["415"] = ProblemResponse([ErrorCodes.Validation], document, "Not JSON: send the body as `application/json`. Code: `validation`.");
    }

    /// <summary>
    /// A body the endpoint takes as optional (<c>TunnelRequest?</c>) comes out as "oneOf: a bare nullable, the type", which
    /// OpenAPI 3.0 forbids (nullable without a type): say it as the type, and the body as not required.
    /// </summary>
    private static void OptionalBody(OpenApiOperation operation)
    {
        foreach (var media in operation.RequestBody?.Content?.Values ?? [])
            if (media.Schema is OpenApiSchema { OneOf: { Count: 2 } choices } && choices.Count(c => c is OpenApiSchemaReference) == 1)
            {
                media.Schema = choices.Single(c => c is OpenApiSchemaReference);
                if (operation.RequestBody is OpenApiRequestBody body) body.Required = false;
            }
    }

    /// <summary>
    /// Every code an endpoint is documented to refuse with: its own (<see cref="Refuses{TBuilder}"/>) and those its kind
    /// implies. The front-end's tests check each refusal they provoke against this (VirtuosoFactory), so a code an
    /// endpoint gives without documenting it fails the test that saw it.
    /// </summary>
    internal static IReadOnlyList<string> CodesOf(IList<object> metadata, string method, bool hasBody)
    {
        var authorize = metadata.OfType<IAuthorizeData>().ToList();
        var anonymous = authorize.Count == 0 || metadata.OfType<IAllowAnonymous>().Any();
        var role = authorize.Any(a => (a.Policy ?? a.Roles) is not null);
        return metadata.OfType<FailureCodes>().SelectMany(f => f.Codes)
            .Concat(ImpliedCodes(anonymous, role, metadata.OfType<SessionOnly>().Any(), method, hasBody))
            .Distinct().ToList();
    }

    /// <summary>What any endpoint of its kind can be refused with: authentication, role, key scope and bad input.</summary>
    private static IEnumerable<string> ImpliedCodes(bool anonymous, bool role, bool sessionOnly, string method, bool hasBody)
    {
        if (hasBody) yield return ErrorCodes.Validation;
        // A read key is refused any write before routing's endpoint runs, even an open one (ApiKeyScopes).
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method)) yield return ErrorCodes.ReadOnlyKey;
        if (anonymous) yield break;
        yield return ErrorCodes.Unauthenticated;
        yield return ErrorCodes.InvalidApiKey;
        yield return ErrorCodes.ExpiredApiKey;
        if (role) yield return ErrorCodes.WrongRole;
        if (sessionOnly) yield return ErrorCodes.SessionRequired;
    }

    private static OpenApiSecurityRequirement Requirement(string scheme, OpenApiDocument document) =>
        new() { [new OpenApiSecuritySchemeReference(scheme, document)] = [] };

    private static OpenApiResponse ProblemResponse(IReadOnlyList<string> codes, OpenApiDocument document, string? description = null) => new()
    {
        Description = description ?? string.Join("; ", codes.Select(c => $"{Failure.TitleOf(c)} (`{c}`)")) + ".",
        Content = new Dictionary<string, OpenApiMediaType>
        {
            [ProblemMediaType] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, document) },
        },
        Extensions = new Dictionary<string, IOpenApiExtension>
        {
            // The stable codes this answer can carry in its `code` member; clients branch on these.
            ["x-codes"] = new JsonNodeExtension(new JsonArray(codes.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray())),
        },
    };

    /// <summary>
    /// A property that may be null and is of a named type comes out as "oneOf: null, the type", which OpenAPI 3.0 cannot
    /// say (the null has no type): say it the 3.0 way, a nullable object that is all of the type.
    /// </summary>
    private static OpenApiSchema? NullableReference(IOpenApiSchema property) =>
        property is OpenApiSchema { OneOf: { Count: 2 } choices } && choices.Count(c => c is OpenApiSchemaReference) == 1
            && choices.Single(c => c is not OpenApiSchemaReference) is { Type: JsonSchemaType.Null }
            ? new OpenApiSchema { Type = JsonSchemaType.Object | JsonSchemaType.Null, AllOf = [choices.Single(c => c is OpenApiSchemaReference)], Description = property.Description }
            : null;

    private static void Complete(OpenApiDocument document)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Virtuoso API",
            Version = "v1",
            Description = "The REST API of the Virtuoso marketplace of virtual machines (docs/api.md). Every refusal is problem "
                + "details (`application/problem+json`) with a stable `code`; each response lists the codes it can carry (`x-codes`).",
        };
        // "/": the server that serves the document, whatever name it was reached by (the framework would write the
        // request's host, which behind a balancer or on loopback is not the one a client wants, and would make the
        // committed copy, docs/openapi-v1.json, depend on who fetched it).
        document.Servers = [new OpenApiServer { Url = "/", Description = "The front-end that serves this document" }];
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Session] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "session token",
            Description = "A session token from `POST /api/v1/sessions` (log in with username and password), sent as "
                + "`Authorization: Bearer TOKEN`; it lasts 30 days, `DELETE /api/v1/sessions/current` ends it.",
        };
        document.Components.SecuritySchemes[ApiKey] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "vk_…",
            Description = "An API key (`vk_` then 43 characters) from `POST /api/v1/tokens`, sent the same way: "
                + "`Authorization: Bearer vk_…`. A `read` key may only GET (other methods: 403 `read-only-key`); a `write` key "
                + "may do what its owner may, except make or revoke keys (403 `session-required`).",
        };
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ProblemSchema] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "An RFC 9457 problem details answer with the front-end's stable code.",
            Required = new HashSet<string> { "status", "title", "code" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A URI naming the kind of problem." },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The code's human title." },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Description = "The HTTP status." },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "What was wrong with this request, for a person." },
                ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["code"] = new OpenApiSchema
                {
                    // Not an enum: a client generated today must still read a code added tomorrow.
                    Type = JsonSchemaType.String,
                    Description = "The stable code: branch on this, never on the text. One of: "
                        + string.Join(", ", Failure.Table.Keys.Order(StringComparer.Ordinal).Select(c => $"`{c}`")) + ".",
                },
            },
        };
        foreach (var schema in document.Components.Schemas.Values.OfType<OpenApiSchema>())
            foreach (var (name, property) in schema.Properties?.ToList() ?? [])
                if (NullableReference(property) is { } fixedUp) schema.Properties![name] = fixedUp;
        var used = (document.Paths ?? new OpenApiPaths()).Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? [])
            .SelectMany(o => o.Tags ?? new HashSet<OpenApiTagReference>()).Select(t => t.Name).Distinct().ToList();
        document.Tags = new HashSet<OpenApiTag>(used.Select(name => new OpenApiTag
        {
            Name = name,
            Description = TagDescriptions.TryGetValue(name!, out var d) ? d : throw new InvalidOperationException($"tag '{name}' has no description in ApiDocument"),
        }));
    }
}

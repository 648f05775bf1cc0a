"""A protoregistry client against a real protoreg server.

Generates Python stubs from the repository's protoregistry.v1 and protoreg.v1
registry.proto (and the health / reflection subsets beside this file) with
grpcio-tools, then calls every method the issue names and checks the answers
and status codes. Exits non-zero with the first failed check.

    python3 protoregistry_client.py --grpc HOST:PORT --http URL \
        --proto-dir client/proto --admin-token T --read-token R --out DIR
"""

import argparse
import importlib
import os
import queue
import re
import sys
import threading
import urllib.request

import grpc
import grpc_tools
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))


def generate(proto_dir, out):
    os.makedirs(out, exist_ok=True)
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = [
        "protoc",
        f"-I{proto_dir}",
        f"-I{HERE}",
        f"-I{include}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        "protoregistry/v1/registry.proto",
        "protoreg/v1/registry.proto",
        "grpc_checks.proto",
        "reflection.proto",
    ]
    code = protoc.main(args)
    if code != 0:
        sys.exit(f"grpc_tools.protoc failed with {code}")
    sys.path.insert(0, out)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_code(call, code, what):
    try:
        call()
    except grpc.RpcError as err:
        check(err.code() == code, f"{what}: want {code}, got {err.code()}: {err.details()}")
        return err
    raise AssertionError(f"{what}: want {code}, got OK")


def details_of(err):
    """The google.rpc.Status details of a failed call."""
    from google.rpc import status_pb2

    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status()
            status.ParseFromString(value)
            return status
    raise AssertionError("no grpc-status-details-bin in the trailers")


MONEY_V1 = b'syntax = "proto3";\npackage shop;\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n}\n'
MONEY_V2 = b'syntax = "proto3";\npackage shop;\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n  int32 nanos = 3;\n}\n'
MONEY_BROKEN = b'syntax = "proto3";\npackage shop;\nmessage Money {\n  string currency = 1\n}\n'
MONEY_DELETED = b'syntax = "proto3";\npackage shop;\nmessage Money {\n  string currency = 1;\n}\n'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpc", required=True)
    parser.add_argument("--http", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--read-token", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    generate(args.proto_dir, args.out)
    pb = importlib.import_module("protoregistry.v1.registry_pb2")
    rpc = importlib.import_module("protoregistry.v1.registry_pb2_grpc")
    own = importlib.import_module("protoreg.v1.registry_pb2")
    own_rpc = importlib.import_module("protoreg.v1.registry_pb2_grpc")
    health_pb = importlib.import_module("grpc_checks_pb2")
    health_rpc = importlib.import_module("grpc_checks_pb2_grpc")
    refl_pb = importlib.import_module("reflection_pb2")
    refl_rpc = importlib.import_module("reflection_pb2_grpc")
    from google.protobuf import descriptor_pb2
    from google.rpc import error_details_pb2

    channel = grpc.insecure_channel(args.grpc)
    grpc.channel_ready_future(channel).result(timeout=30)
    registry = rpc.RegistryServiceStub(channel)
    admin = [("authorization", f"Bearer {args.admin_token}")]
    reader = [("authorization", f"Bearer {args.read_token}")]
    SC = grpc.StatusCode

    # Auth: no token, a bad token, a reader writing.
    expect_code(lambda: registry.ListNamespaces(pb.ListNamespacesRequest()), SC.UNAUTHENTICATED, "no token")
    expect_code(
        lambda: registry.ListNamespaces(pb.ListNamespacesRequest(), metadata=[("authorization", "Bearer nope")]),
        SC.UNAUTHENTICATED,
        "a bad token",
    )

    # CreateNamespace: created, then ALREADY_EXISTS; a bad id is INVALID_ARGUMENT.
    registry.CreateNamespace(pb.CreateNamespaceRequest(id="shop", metadata={"team": "payments"}), metadata=admin)
    expect_code(
        lambda: registry.CreateNamespace(pb.CreateNamespaceRequest(id="shop"), metadata=admin),
        SC.ALREADY_EXISTS,
        "create twice",
    )
    expect_code(
        lambda: registry.CreateNamespace(pb.CreateNamespaceRequest(id="bad name!"), metadata=admin),
        SC.INVALID_ARGUMENT,
        "a bad namespace id",
    )
    expect_code(
        lambda: registry.CreateNamespace(pb.CreateNamespaceRequest(id="kid", parent_namespace_id="shop"), metadata=admin),
        SC.INVALID_ARGUMENT,
        "a parent namespace",
    )
    listed = registry.ListNamespaces(pb.ListNamespacesRequest(), metadata=admin)
    shop = [n for n in listed.namespaces if n.id == "shop"]
    check(len(shop) == 1, f"shop listed: {listed}")
    check(dict(shop[0].metadata) == {"team": "payments"}, f"metadata: {shop[0]}")
    check(shop[0].created_at.seconds > 0, "created_at set")
    check(listed.next_page_token == "", "one page")

    # A reader may not publish.
    expect_code(
        lambda: registry.Publish(
            pb.PublishRequest(namespace_id="shop", schema_id="money", sources={"shop/money.proto": MONEY_V1}),
            metadata=reader,
        ),
        SC.PERMISSION_DENIED,
        "a reader publishing",
    )

    # Publish: version 1, then the same sources: no_change.
    published = registry.Publish(
        pb.PublishRequest(namespace_id="shop", schema_id="money", sources={"shop/money.proto": MONEY_V1}, created_by="py"),
        metadata=admin,
    )
    check(published.version == 1 and not published.no_change, f"publish: {published}")
    check(len(published.fingerprint) > 0, "a fingerprint")
    again = registry.Publish(
        pb.PublishRequest(namespace_id="shop", schema_id="money", sources={"shop/money.proto": MONEY_V1}), metadata=admin
    )
    check(again.version == 1 and again.no_change and again.fingerprint == published.fingerprint, f"again: {again}")

    # A compile error: INVALID_ARGUMENT with BadRequest and ErrorInfo details.
    err = expect_code(
        lambda: registry.Publish(
            pb.PublishRequest(namespace_id="shop", schema_id="money", sources={"shop/money.proto": MONEY_BROKEN}),
            metadata=admin,
        ),
        SC.INVALID_ARGUMENT,
        "a compile error",
    )
    check('"compile_failed"' in err.details(), f"the problem JSON in the message: {err.details()}")
    status = details_of(err)
    kinds = {d.TypeName() for d in status.details}
    check("google.rpc.BadRequest" in kinds and "google.rpc.ErrorInfo" in kinds, f"details: {kinds}")
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            field = bad.field_violations[0].field
            check(re.fullmatch(r"shop/money\.proto:[45]:\d+", field), f"position: {bad}")
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            check(info.reason == "compile_failed" and info.domain == "protoreg", f"info: {info}")

    # Not UTF-8 sources.
    expect_code(
        lambda: registry.Publish(
            pb.PublishRequest(namespace_id="shop", schema_id="money", sources={"shop/money.proto": b"\xff\xfe"}),
            metadata=admin,
        ),
        SC.INVALID_ARGUMENT,
        "non-UTF-8 sources",
    )

    # A file over limits.max_file_bytes (8 MiB): RESOURCE_EXHAUSTED.
    big = b"// " + b"x" * (9 * 1024 * 1024) + b"\n" + MONEY_V1
    expect_code(
        lambda: registry.Publish(
            pb.PublishRequest(namespace_id="shop", schema_id="money", sources={"shop/money.proto": big}),
            metadata=admin,
        ),
        SC.RESOURCE_EXHAUSTED,
        "a file over the limit",
    )

    # Nothing current yet: GetDescriptor(version 0) is NOT_FOUND.
    expect_code(
        lambda: registry.GetDescriptor(pb.GetDescriptorRequest(namespace_id="shop", schema_id="money"), metadata=reader),
        SC.NOT_FOUND,
        "no current version",
    )
    # A reader may not promote.
    expect_code(lambda: registry.Promote(pb.PromoteRequest(namespace_id="shop"), metadata=reader), SC.PERMISSION_DENIED, "a reader promoting")
    promoted = registry.Promote(pb.PromoteRequest(namespace_id="shop"), metadata=admin)
    check([(p.schema_id, p.current_version) for p in promoted.promoted] == [("money", 1)], f"promote: {promoted}")

    # GetDescriptor: version 0 is current; the set equals HTTP's.
    got = registry.GetDescriptor(pb.GetDescriptorRequest(namespace_id="shop", schema_id="money"), metadata=reader)
    check(got.version == 1, f"descriptor version: {got.version}")
    check([f.name for f in got.file_descriptor_set.file] == ["shop/money.proto"], f"files: {got.file_descriptor_set}")
    request = urllib.request.Request(
        f"{args.http}/v1/namespaces/shop/schemas/money/versions/1/descriptor",
        headers={"Authorization": f"Bearer {args.read_token}"},
    )
    http_bytes = urllib.request.urlopen(request).read()
    http_set = descriptor_pb2.FileDescriptorSet()
    http_set.ParseFromString(http_bytes)
    check(http_set == got.file_descriptor_set, "gRPC and HTTP serve the same descriptor set")
    expect_code(
        lambda: registry.GetDescriptor(pb.GetDescriptorRequest(namespace_id="shop", schema_id="money", version=7), metadata=reader),
        SC.NOT_FOUND,
        "version 7",
    )
    expect_code(
        lambda: registry.GetDescriptor(pb.GetDescriptorRequest(namespace_id="nowhere", schema_id="money"), metadata=admin),
        SC.NOT_FOUND,
        "no such namespace",
    )

    # GetSource: the bytes published.
    source = registry.GetSource(pb.GetSourceRequest(namespace_id="shop", schema_id="money"), metadata=reader)
    check(source.version == 1 and dict(source.sources) == {"shop/money.proto": MONEY_V1}, f"sources: {source}")

    # Version 2, promoted; Rollback stages 1; DiscardStaging drops it.
    v2 = registry.Publish(
        pb.PublishRequest(namespace_id="shop", schema_id="money", sources={"shop/money.proto": MONEY_V2}), metadata=admin
    )
    check(v2.version == 2, f"v2: {v2}")
    registry.Promote(pb.PromoteRequest(namespace_id="shop"), metadata=admin)
    expect_code(
        lambda: registry.Rollback(pb.RollbackRequest(namespace_id="shop", schema_id="money", version=0), metadata=admin),
        SC.INVALID_ARGUMENT,
        "rollback to 0",
    )
    expect_code(
        lambda: registry.Rollback(pb.RollbackRequest(namespace_id="shop", schema_id="money", version=1), metadata=reader),
        SC.PERMISSION_DENIED,
        "a reader rolling back",
    )
    expect_code(
        lambda: registry.Rollback(pb.RollbackRequest(namespace_id="shop", schema_id="money", version=9), metadata=admin),
        SC.NOT_FOUND,
        "rollback to a missing version",
    )
    # Going back to 1 deletes field 3: FAILED_PRECONDITION without force.
    err = expect_code(
        lambda: registry.Rollback(pb.RollbackRequest(namespace_id="shop", schema_id="money", version=1), metadata=admin),
        SC.FAILED_PRECONDITION,
        "an incompatible rollback",
    )
    kinds = {d.TypeName() for d in details_of(err).details}
    check("google.rpc.PreconditionFailure" in kinds, f"details: {kinds}")
    registry.Rollback(pb.RollbackRequest(namespace_id="shop", schema_id="money", version=1, force=True), metadata=admin)
    schema = registry.GetSchema(pb.GetSchemaRequest(namespace_id="shop", schema_id="money"), metadata=reader).schema
    check(schema.current_version == 2 and schema.HasField("staged_version") and schema.staged_version == 1, f"after rollback: {schema}")
    check(list(schema.versions) == [1, 2], f"versions: {schema.versions}")
    registry.DiscardStaging(pb.DiscardStagingRequest(namespace_id="shop"), metadata=admin)
    schema = registry.GetSchema(pb.GetSchemaRequest(namespace_id="shop", schema_id="money"), metadata=reader).schema
    check(not schema.HasField("staged_version") and schema.current_version == 2, f"after discard: {schema}")

    # Promote of a breaking change: FAILED_PRECONDITION with the violations.
    registry.Publish(
        pb.PublishRequest(namespace_id="shop", schema_id="money", sources={"shop/money.proto": MONEY_DELETED}), metadata=admin
    )
    err = expect_code(lambda: registry.Promote(pb.PromoteRequest(namespace_id="shop"), metadata=admin), SC.FAILED_PRECONDITION, "a breaking promote")
    status = details_of(err)
    for detail in status.details:
        if detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            check(failure.violations[0].type.startswith("FIELD_"), f"violation: {failure}")
            break
    else:
        raise AssertionError(f"no PreconditionFailure: {status}")
    registry.DiscardStaging(pb.DiscardStagingRequest(namespace_id="shop"), metadata=admin)

    # ListSchemas, paginated: 5 schemas by 2.
    for i in range(5):
        registry.Publish(
            pb.PublishRequest(
                namespace_id="paged",
                schema_id=f"s{i}",
                sources={f"p{i}.proto": f'syntax = "proto3";\npackage p{i};\nmessage M {{}}\n'.encode()},
            ),
            metadata=admin,
        )
    seen, token, pages = [], "", 0
    while True:
        page = registry.ListSchemas(pb.ListSchemasRequest(namespace_id="paged", page_size=2, page_token=token), metadata=admin)
        pages += 1
        check(len(page.schemas) <= 2, f"page size: {page}")
        seen += [(s.schema_id, s.HasField("current_version"), s.staged_version) for s in page.schemas]
        token = page.next_page_token
        if not token:
            break
        check(pages < 10, "pagination ends")
    check(pages == 3, f"pages: {pages}")
    check(seen == [(f"s{i}", False, 1) for i in range(5)], f"schemas: {seen}")
    whole = registry.ListSchemas(pb.ListSchemasRequest(namespace_id="paged"), metadata=admin)
    check(len(whole.schemas) == 5 and whole.next_page_token == "", "page_size 0: the default")
    expect_code(
        lambda: registry.ListSchemas(pb.ListSchemasRequest(namespace_id="paged", page_token="zz"), metadata=admin),
        SC.INVALID_ARGUMENT,
        "a bad page token",
    )
    expect_code(
        lambda: registry.ListSchemas(pb.ListSchemasRequest(namespace_id="paged"), metadata=reader),
        SC.PERMISSION_DENIED,
        "a reader of shop listing paged",
    )
    # ListNamespaces paginated, and filtered to what the caller may read.
    first = registry.ListNamespaces(pb.ListNamespacesRequest(page_size=1), metadata=admin)
    check(len(first.namespaces) == 1 and first.next_page_token != "", f"first page: {first}")
    names = [n.id for n in registry.ListNamespaces(pb.ListNamespacesRequest(), metadata=reader).namespaces]
    check("shop" in names and "paged" not in names, f"a reader of shop sees: {names}")

    # protoreg.v1.Registry: staging, check, namespace descriptor, validate,
    # transcode, and the event stream.
    own_stub = own_rpc.RegistryStub(channel)
    staging = own_stub.ListStaging(own.ListStagingRequest(namespace="paged"), metadata=admin)
    check([s.schema for s in staging.staged] == [f"s{i}" for i in range(5)], f"staging: {staging}")
    checked = own_stub.Check(
        own.CheckRequest(namespace="shop", schema="money", sources={"shop/money.proto": MONEY_DELETED.decode()}),
        metadata=admin,
    )
    check(not checked.compatible and checked.violations[0].rule.startswith("FIELD_"), f"check: {checked}")
    nsd = own_stub.GetNamespaceDescriptor(own.GetNamespaceDescriptorRequest(namespace="shop"), metadata=reader)
    whole_set = descriptor_pb2.FileDescriptorSet()
    whole_set.ParseFromString(nsd.file_descriptor_set)
    check("shop/money.proto" in [f.name for f in whole_set.file], "namespace descriptor")
    same = own_stub.GetNamespaceDescriptor(own.GetNamespaceDescriptorRequest(namespace="shop", if_none_match=nsd.etag), metadata=reader)
    check(same.not_modified and len(same.file_descriptor_set) == 0, "if_none_match")
    message = own.TypedMessage(
        namespace="shop", full_name="shop.Money", format=own.FORMAT_JSON, body=b'{"currency": "EUR", "units": "12", "nanos": 5}'
    )
    valid = own_stub.Validate(own.ValidateRequest(message=message), metadata=reader)
    check(valid.valid and len(valid.errors) == 0, f"valid: {valid}")
    bad = own.TypedMessage(namespace="shop", full_name="shop.Money", format=own.FORMAT_JSON, body=b'{"units": "lots"}')
    invalid = own_stub.Validate(own.ValidateRequest(message=bad), metadata=reader)
    check(not invalid.valid and "units" in invalid.errors[0].path + invalid.errors[0].message, f"invalid: {invalid}")
    text = own_stub.Transcode(own.TranscodeRequest(message=message, to=own.FORMAT_TEXT), metadata=reader)
    check(b'currency: "EUR"' in text.body, f"text: {text.body!r}")
    expect_code(
        lambda: own_stub.Validate(
            own.ValidateRequest(message=own.TypedMessage(namespace="shop", full_name="shop.Nope", format=own.FORMAT_JSON, body=b"{}")),
            metadata=reader,
        ),
        SC.NOT_FOUND,
        "an unknown type",
    )

    # WatchEvents: the history of shop, then a publish as it happens.
    events = queue.Queue()
    call = own_stub.WatchEvents(own.WatchEventsRequest(after=0, namespace="shop"), metadata=reader)

    def follow():
        try:
            for event in call:
                events.put(event)
        except grpc.RpcError as err:
            events.put(err)

    threading.Thread(target=follow, daemon=True).start()
    kinds = []
    while "staging.discarded" not in kinds or kinds.count("staging.discarded") < 2:
        event = events.get(timeout=10)
        check(not isinstance(event, grpc.RpcError), f"stream failed: {event}")
        check(event.namespace == "shop", f"namespace: {event}")
        kinds.append(event.kind)
    check(kinds[0] == "namespace.created" and "namespace.promoted" in kinds, f"kinds: {kinds}")
    registry.Publish(
        pb.PublishRequest(namespace_id="shop", schema_id="money", sources={"shop/money.proto": MONEY_DELETED}), metadata=admin
    )
    live = events.get(timeout=10)
    check(live.kind == "schema.published" and '"money"' in live.payload_json, f"live event: {live}")
    call.cancel()
    expect_code(
        lambda: next(iter(own_stub.WatchEvents(own.WatchEventsRequest(namespace="paged"), metadata=reader))),
        SC.PERMISSION_DENIED,
        "watching a namespace the reader may not read",
    )

    # Health and reflection.
    health = health_rpc.HealthStub(channel)
    for service in ["", "protoregistry.v1.RegistryService", "protoreg.v1.Registry"]:
        answer = health.Check(health_pb.HealthCheckRequest(service=service))
        check(answer.status == health_pb.HealthCheckResponse.SERVING, f"health of {service!r}: {answer}")
    reflection = refl_rpc.ServerReflectionStub(channel)
    answers = list(reflection.ServerReflectionInfo(iter([refl_pb.ServerReflectionRequest(list_services="")])))
    services = sorted(s.name for s in answers[0].list_services_response.service)
    for want in ["grpc.health.v1.Health", "protoreg.v1.Registry", "protoregistry.v1.RegistryService"]:
        check(want in services, f"reflection lists {want}: {services}")
    answers = list(
        reflection.ServerReflectionInfo(
            iter([refl_pb.ServerReflectionRequest(file_containing_symbol="protoregistry.v1.RegistryService")])
        )
    )
    files = answers[0].file_descriptor_response.file_descriptor_proto
    names = []
    for raw in files:
        proto = descriptor_pb2.FileDescriptorProto()
        proto.ParseFromString(raw)
        names.append(proto.name)
    check("protoregistry/v1/registry.proto" in names, f"reflection files: {names}")
    print("protoregistry client: all checks passed")


if __name__ == "__main__":
    main()

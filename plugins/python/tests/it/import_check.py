"""Imports generated modules and checks they work with the protobuf runtime.

Usage: import_check.py ROOT [--no-grpc=FILE.proto]... FILE.proto...
(ROOT holds the generated tree; --no-grpc skips importing that _pb2_grpc;
PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION picks the backend). Prints a summary
line; any failure raises.
"""
import importlib
import sys

sys.path.insert(0, sys.argv[1])

from google.protobuf import descriptor_pb2  # noqa: E402
from google.protobuf import message_factory  # noqa: E402
from google.protobuf.internal import api_implementation  # noqa: E402

FD = descriptor_pb2.FieldDescriptorProto


def module_name(proto):
    return proto[: -len(".proto")].replace("-", "_").replace("/", ".") + "_pb2"


def sample(field):
    if field.type in (FD.TYPE_STRING,):
        return "x"
    if field.type == FD.TYPE_BYTES:
        return b"\x00x"
    if field.type == FD.TYPE_BOOL:
        return True
    if field.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return 1.5
    if field.type == FD.TYPE_ENUM:
        return field.enum_type.values[-1].number
    return 7


def is_repeated(field):
    # protobuf 7 removed FieldDescriptor.label.
    if hasattr(field, "is_repeated"):
        return field.is_repeated
    return field.label == FD.LABEL_REPEATED


def fill(msg, depth=0):
    for field in msg.DESCRIPTOR.fields:
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                continue
            if is_repeated(field):
                continue
            # An Any with a made-up type_url cannot be compared (the runtime
            # unpacks it), so it is only marked present.
            if depth < 2 and field.message_type.full_name != "google.protobuf.Any":
                fill(getattr(msg, field.name), depth + 1)
                getattr(msg, field.name).SetInParent()
            continue
        if is_repeated(field):
            getattr(msg, field.name).append(sample(field))
        else:
            setattr(msg, field.name, sample(field))


def messages(descriptors):
    for d in descriptors:
        if d.GetOptions().map_entry:
            continue
        yield d
        yield from messages(d.nested_types)


def check_descriptors(module):
    file_proto = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(file_proto)
    reference = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
    assert file_proto == reference, module.__name__
    for index, d in enumerate(module.DESCRIPTOR.message_types_by_name.values()):
        proto = descriptor_pb2.DescriptorProto()
        d.CopyToProto(proto)
        assert proto == reference.message_type[index], d.full_name
    for index, d in enumerate(module.DESCRIPTOR.enum_types_by_name.values()):
        proto = descriptor_pb2.EnumDescriptorProto()
        d.CopyToProto(proto)
        assert proto == reference.enum_type[index], d.full_name
    for index, d in enumerate(module.DESCRIPTOR.services_by_name.values()):
        proto = descriptor_pb2.ServiceDescriptorProto()
        d.CopyToProto(proto)
        assert proto == reference.service[index], d.full_name


def check_messages(module):
    count = 0
    for d in messages(module.DESCRIPTOR.message_types_by_name.values()):
        cls = message_factory.GetMessageClass(d)
        msg = cls()
        fill(msg)
        data = msg.SerializePartialToString()
        back = cls()
        back.ParseFromString(data)
        assert back == msg, d.full_name
        assert back.SerializePartialToString() == data, d.full_name
        count += 1
    return count


def main():
    args = sys.argv[2:]
    no_grpc = {a.split("=", 1)[1] for a in args if a.startswith("--no-grpc=")}
    files = [a for a in args if not a.startswith("--")]
    modules = messages_checked = grpc_modules = 0
    for proto in files:
        module = importlib.import_module(module_name(proto))
        if proto not in no_grpc:
            importlib.import_module(module_name(proto) + "_grpc")
            grpc_modules += 1
        check_descriptors(module)
        messages_checked += check_messages(module)
        modules += 1
    print(
        f"backend={api_implementation.Type()} modules={modules} grpc_modules={grpc_modules} "
        f"messages_round_tripped={messages_checked}"
    )


main()

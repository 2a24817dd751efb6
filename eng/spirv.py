"""SPIR-V reflection (not in the book, whose shaders are its own): what a shader declares, read
in Python before any Vulkan object is made from it.

`reflect(code, name, stage)` reads the module in two passes (decorations, then everything
else) and returns a `ShaderInfo`: the entry point `main` and its stage, its inputs and outputs
by location, the descriptors by (set, binding) and the size of the push-constant block.
eng/shader_check.py compares that with the pipeline it is for.

It is no validator (spirv-val is: eng/extras/shader_watch.py runs it on SPIR-V files a user
gives), but it refuses what would make its answer wrong or a driver stumble: a bad header, an
instruction that runs past the end, an id beyond the bound, a function left open or called but
never defined, decorations it does not follow, and the capabilities, extensions and
instruction sets that the engine does not enable.
"""

import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NoReturn

MAGIC = 0x07230203
MAX_MINOR = 6  # SPIR-V 1.6: the newest that Vulkan 1.3 takes
MAX_LOCATIONS = 64  # per variable; devices have 16 to 32 vertex inputs and 32 to 128 varyings

# opcodes
OP_EXTENSION, OP_EXT_INST_IMPORT, OP_MEMORY_MODEL, OP_ENTRY_POINT = 10, 11, 14, 15
OP_CAPABILITY = 17
OP_TYPE_VOID, OP_TYPE_BOOL, OP_TYPE_INT, OP_TYPE_FLOAT, OP_TYPE_VECTOR = 19, 20, 21, 22, 23
OP_TYPE_MATRIX, OP_TYPE_IMAGE, OP_TYPE_SAMPLER, OP_TYPE_SAMPLED_IMAGE = 24, 25, 26, 27
OP_TYPE_ARRAY, OP_TYPE_RUNTIME_ARRAY, OP_TYPE_STRUCT, OP_TYPE_POINTER = 28, 29, 30, 32
OP_CONSTANT, OP_SPEC_CONSTANT = 43, 50
OP_FUNCTION, OP_FUNCTION_END, OP_FUNCTION_CALL, OP_VARIABLE = 54, 56, 57, 59
OP_DECORATE, OP_MEMBER_DECORATE, OP_GROUP_OPS = 71, 72, (73, 74, 75)
# storage classes
UNIFORM_CONSTANT, INPUT, UNIFORM, OUTPUT, PUSH_CONSTANT, STORAGE_BUFFER = 0, 1, 2, 3, 9, 12
DESCRIPTOR_CLASSES = (UNIFORM_CONSTANT, UNIFORM, STORAGE_BUFFER)
# decorations
SPEC_ID, BLOCK, BUFFER_BLOCK, ROW_MAJOR, ARRAY_STRIDE, MATRIX_STRIDE = 1, 2, 3, 4, 6, 7
BUILT_IN, NON_WRITABLE, LOCATION, COMPONENT = 11, 24, 30, 31
BINDING, DESCRIPTOR_SET, OFFSET = 33, 34, 35
WITH_A_NUMBER = {SPEC_ID, ARRAY_STRIDE, MATRIX_STRIDE, BUILT_IN, LOCATION, COMPONENT, BINDING,
                 DESCRIPTOR_SET, OFFSET}  # fmt: skip

STAGES = {0: "vertex", 1: "tessellation control", 2: "tessellation evaluation", 3: "geometry",
          4: "fragment", 5: "compute", 6: "OpenCL kernel"}  # fmt: skip
"""SPIR-V execution models by number."""
ALLOWED_CAPABILITIES = {0, 1, 40, 43, 44, 46, 47, 50, 51}
"""Those Vulkan 1.3 grants without a device feature (the engine enables none for shaders):
Matrix, Shader, InputAttachment, Sampled1D, Image1D, SampledBuffer, ImageBuffer, ImageQuery,
DerivativeControl."""
CAPABILITY_NAMES = {
    2: "Geometry", 3: "Tessellation", 9: "Float16 (float16_t)", 10: "Float64 (double)",
    11: "Int64 (int64_t)", 22: "Int16 (int16_t)", 25: "ImageGatherExtended", 32: "ClipDistance",
    33: "CullDistance", 34: "ImageCubeArray", 35: "SampleRateShading", 39: "Int8 (int8_t)",
    42: "MinLod", 45: "SampledCubeArray", 49: "StorageImageExtendedFormats",
    52: "InterpolationFunction", 55: "StorageImageReadWithoutFormat",
    56: "StorageImageWriteWithoutFormat", 61: "GroupNonUniform (subgroups)",
    4427: "DrawParameters (gl_BaseInstance, gl_DrawID)", 5301: "ShaderNonUniform",
    5302: "RuntimeDescriptorArray", 5345: "VulkanMemoryModel",
}  # fmt: skip
ALLOWED_EXTENSIONS = {"SPV_KHR_storage_buffer_storage_class"}  # core since Vulkan 1.1
ALLOWED_IMPORTS = {"GLSL.std.450"}
_SIGNED_PREFIX = {"float": "", "int": "i", "uint": "u"}


class SpirvError(ValueError):
    """A shader that is malformed or does not fit the pipeline it is for; `name` is the file a
    user knows it by, `problem` one line."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Slot:
    """What one input or output location holds: 32-bit scalars of a kind, 1 to 4 of them."""

    kind: str  # "float", "int" or "uint"
    components: int

    def __str__(self) -> str:
        if self.components == 1:
            return self.kind
        return f"{_SIGNED_PREFIX[self.kind]}vec{self.components}"


@dataclass(frozen=True, slots=True)
class Descriptor:
    """What a shader declares at one (set, binding)."""

    kind: str  # "uniform buffer", "storage buffer", "combined image sampler", ...
    count: int  # descriptors: an array's length (the default, when `spec_id` sets it)
    spec_id: int | None  # the specialization constant that sets `count`, if one does
    writable: bool  # a storage buffer or image not declared readonly


@dataclass(slots=True)
class ShaderInfo:
    """The interface of a shader's entry point `main`."""

    inputs: dict[int, Slot] = field(default_factory=dict)  # by location
    outputs: dict[int, Slot] = field(default_factory=dict)
    descriptors: dict[tuple[int, int], Descriptor] = field(default_factory=dict)
    push_size: int = 0  # bytes from offset 0 to the end of the push-constant block's last member


@dataclass(frozen=True, slots=True)
class _Type:
    """A type of the module, with what the checks need of it, worked out when it is declared
    (from types declared before it, so nothing recurses)."""

    op: int
    kind: str = ""  # of a scalar, vector or matrix: "float", "int", "uint", "bool"
    size: int | None = None  # bytes in a block; None: unsized, or not allowed in one
    slots: tuple[Slot, ...] | None = None  # one per location as an input or output
    element: int = 0  # an array's element, a pointer's pointee, a sampled image's image
    count: int | None = 1  # an array's length (None: computed from specialization constants)
    spec_id: int | None = None  # the specialization constant that sets an array's length
    members: tuple[int, ...] = ()  # a struct's member types
    image: tuple[int, int] = (0, 0)  # an image's Dim and Sampled
    components: int = 1  # a vector's, or a matrix's rows
    columns: int = 0  # a matrix's


def reflect(code: bytes, name: str, stage: str) -> ShaderInfo:
    """What the SPIR-V `code` declares for its entry point `main`, which must be a `stage`
    ("vertex", "fragment") shader; SpirvError naming `name` otherwise."""
    if len(code) < 20 or len(code) % 4 or int.from_bytes(code[:4], "little") != MAGIC:
        raise SpirvError(name, "is not SPIR-V")
    words = array("I")
    words.frombytes(code)
    if sys.byteorder == "big":
        words.byteswap()
    return _Module(name, words).read(stage)


class _Module:
    def __init__(self, name: str, words: array) -> None:
        self.name = name
        self.words = words
        self.bound = words[3]
        self.decorations: dict[int, dict[int, tuple[int, ...]]] = {}
        self.member_decorations: dict[tuple[int, int], dict[int, tuple[int, ...]]] = {}
        self.types: dict[int, _Type] = {}
        self.constants: dict[int, tuple[int | None, int | None]] = {}  # (value, SpecId)
        self.variables: dict[int, tuple[int, int]] = {}  # id -> (storage class, pointee type)
        self.entry_points: list[tuple[int, int, str, tuple[int, ...]]] = []
        self.defined: set[int] = set()
        self.functions: set[int] = set()
        self.called: set[int] = set()
        self.memory_models = 0

    def fail(self, problem: str) -> NoReturn:
        raise SpirvError(self.name, problem)

    def read(self, stage: str) -> ShaderInfo:
        major, minor = self.words[1] >> 16, (self.words[1] >> 8) & 0xFF
        if major != 1 or minor > MAX_MINOR or self.words[1] & 0xFF0000FF:
            self.fail(f"is SPIR-V version {major}.{minor}; Vulkan 1.3 takes 1.0 to 1.{MAX_MINOR}")
        if not 0 < self.bound <= 1 << 22 or self.words[4] != 0:
            self.fail("has a malformed SPIR-V header (id bound or schema)")
        for opcode, at, count in self._instructions():
            self._decoration(opcode, at, count)
        in_function = False
        for opcode, at, count in self._instructions():
            if opcode == OP_FUNCTION:
                if in_function:
                    self.fail("starts a function inside another")
                in_function = True
                self.functions.add(self._result(at, count, 2, 5))
            elif opcode == OP_FUNCTION_END:
                if not in_function:
                    self.fail("ends a function it never started")
                in_function = False
            elif opcode == OP_FUNCTION_CALL:
                self.called.add(self._operand(at, count, 3, 4))
            elif not in_function:
                self._global(opcode, at, count)
        if in_function:
            self.fail("is cut short: its last function has no end")
        if self.memory_models != 1:
            self.fail(f"has {self.memory_models} OpMemoryModel instructions, not one")
        if not self.called <= self.functions:
            self.fail(
                f"calls function %{min(self.called - self.functions)}, which it never defines"
            )
        return self._info(stage)

    def _instructions(self) -> Iterator[tuple[int, int, int]]:
        """(opcode, first word, word count) of each instruction after the header."""
        words, at, end = self.words, 5, len(self.words)
        while at < end:
            count, opcode = words[at] >> 16, words[at] & 0xFFFF
            if count == 0:
                self.fail(f"has an instruction of no words (opcode {opcode}, word {at})")
            if at + count > end:
                self.fail(f"is cut short or corrupt: an instruction (word {at}) runs past the end")
            yield opcode, at, count
            at += count

    def _operand(self, at: int, count: int, index: int, least: int) -> int:
        """Word `index` of the instruction at `at`, which must have at least `least` words."""
        if count < least:
            self.fail(f"has a malformed instruction (opcode {self.words[at] & 0xFFFF}, word {at})")
        return self.words[at + index]

    def _id(self, at: int, count: int, index: int, least: int) -> int:
        value = self._operand(at, count, index, least)
        if value >= self.bound:
            self.fail(f"uses id %{value}, beyond its bound %{self.bound}")
        return value

    def _result(self, at: int, count: int, index: int, least: int) -> int:
        """A result id, defined only once."""
        value = self._id(at, count, index, least)
        if value in self.defined:
            self.fail(f"defines id %{value} twice")
        self.defined.add(value)
        return value

    def _string(self, at: int, count: int, index: int) -> tuple[str, int]:
        """The literal string from word `index` on, and the index of the word after it."""
        raw = self.words[at + index : at + count].tobytes()
        end = raw.find(b"\0")
        if end < 0:
            self.fail(f"has an unterminated string (word {at})")
        return raw[:end].decode("utf-8", "replace"), index + end // 4 + 1

    def _type(self, type_id: int) -> _Type:
        found = self.types.get(type_id)
        if found is None:
            self.fail(f"uses %{type_id} as a type before declaring it as one")
        return found

    def _decoration(self, opcode: int, at: int, count: int) -> None:
        if opcode in (OP_DECORATE, OP_MEMBER_DECORATE):
            first = 2 if opcode == OP_DECORATE else 3  # the decoration, after the target
            target = self._id(at, count, 1, first + 1)
            decoration = self.words[at + first]
            literals = tuple(self.words[at + first + 1 : at + count])
            if decoration in WITH_A_NUMBER and not literals:
                self.fail(f"has a decoration without its number (word {at})")
            if opcode == OP_DECORATE:
                self.decorations.setdefault(target, {})[decoration] = literals
            else:
                key = (target, self.words[at + 2])
                self.member_decorations.setdefault(key, {})[decoration] = literals
        elif opcode in OP_GROUP_OPS:
            self.fail("uses decoration groups (OpDecorationGroup), which the engine does not read")

    def _global(self, opcode: int, at: int, count: int) -> None:
        """An instruction outside the functions."""
        words = self.words
        if opcode == OP_CAPABILITY:
            capability = self._operand(at, count, 1, 2)
            if capability not in ALLOWED_CAPABILITIES:
                what = CAPABILITY_NAMES.get(capability, str(capability))
                self.fail(f"uses the SPIR-V capability {what}, which the engine does not enable")
        elif opcode == OP_EXTENSION:
            extension = self._string(at, count, 1)[0]
            if extension not in ALLOWED_EXTENSIONS:
                self.fail(
                    f"uses the SPIR-V extension {extension}, which the engine does not enable"
                )
        elif opcode == OP_EXT_INST_IMPORT:
            imported = self._string(at, count, 2)[0]
            if imported not in ALLOWED_IMPORTS:
                self.fail(f"imports the instruction set {imported}, which the engine does not take")
        elif opcode == OP_MEMORY_MODEL:
            if (self._operand(at, count, 1, 3), words[at + 2]) != (0, 1):
                self.fail("has a memory model other than Logical GLSL450")
            self.memory_models += 1
        elif opcode == OP_ENTRY_POINT:
            model, function = self._operand(at, count, 1, 4), self._id(at, count, 2, 4)
            entry_name, rest = self._string(at, count, 3)
            interface = tuple(self._id(at, count, i, 0) for i in range(rest, count))
            self.entry_points.append((model, function, entry_name, interface))
        elif OP_TYPE_VOID <= opcode <= OP_TYPE_POINTER:
            result = self._result(at, count, 1, 2)
            self.types[result] = self._declare(opcode, result, at, count)
        elif opcode in (OP_CONSTANT, OP_SPEC_CONSTANT):
            result = self._result(at, count, 2, 4)
            scalar = self._type(self._id(at, count, 1, 4))
            spec_id = self.decorations.get(result, {}).get(SPEC_ID, (None,))[0]
            value = words[at + 3] if scalar.kind in ("int", "uint") else None
            self.constants[result] = (value, spec_id if opcode == OP_SPEC_CONSTANT else None)
        elif opcode == OP_VARIABLE:
            pointer = self._type(self._id(at, count, 1, 4))
            result = self._result(at, count, 2, 4)
            if pointer.op != OP_TYPE_POINTER:
                self.fail(f"declares variable %{result} of a type that is not a pointer")
            self.variables[result] = (words[at + 3], pointer.element)

    def _declare(self, opcode: int, result: int, at: int, count: int) -> _Type:
        """The type an OpType* instruction declares."""
        words = self.words
        if opcode in (OP_TYPE_INT, OP_TYPE_FLOAT):
            width = self._operand(at, count, 2, 4 if opcode == OP_TYPE_INT else 3)
            kind = "float" if opcode == OP_TYPE_FLOAT else ("int" if words[at + 3] else "uint")
            return _Type(opcode, kind, width // 8, (Slot(kind, 1),) if width == 32 else None)
        if opcode == OP_TYPE_BOOL:
            return _Type(opcode, "bool")
        if opcode in (OP_TYPE_VECTOR, OP_TYPE_MATRIX):
            part = self._type(self._id(at, count, 2, 4))
            n = words[at + 3]
            if not part.kind or not 2 <= n <= 4:
                self.fail(f"declares a vector or matrix %{result} of {n} of a non-scalar type")
            size = None if part.size is None else n * part.size
            if opcode == OP_TYPE_VECTOR:
                vector = (Slot(part.kind, n),) if part.slots else None
                return _Type(opcode, part.kind, size, vector, components=n)
            columns = _times(part.slots, n)
            return _Type(opcode, part.kind, size, columns, components=part.components, columns=n)
        if opcode in (OP_TYPE_ARRAY, OP_TYPE_RUNTIME_ARRAY):
            element = self._type(self._id(at, count, 2, 3))
            if opcode == OP_TYPE_RUNTIME_ARRAY:
                return _Type(opcode, element=words[at + 2], count=None)
            length, spec_id = self.constants.get(self._id(at, count, 3, 4), (None, None))
            stride = self.decorations.get(result, {}).get(ARRAY_STRIDE, (element.size,))[0]
            size = length * stride if length is not None and stride is not None else None
            slots = _times(element.slots, length)
            return _Type(
                opcode, size=size, slots=slots, element=words[at + 2], count=length, spec_id=spec_id
            )
        if opcode == OP_TYPE_STRUCT:
            return self._struct(result, tuple(self._id(at, count, i, 0) for i in range(2, count)))
        if opcode == OP_TYPE_IMAGE:
            return _Type(opcode, image=(self._operand(at, count, 3, 9), words[at + 7]))
        if opcode in (OP_TYPE_SAMPLED_IMAGE, OP_TYPE_POINTER):
            index = 2 if opcode == OP_TYPE_SAMPLED_IMAGE else 3
            pointee = self._id(at, count, index, index + 1)
            self._type(pointee)
            return _Type(opcode, element=pointee)
        return _Type(opcode)

    def _struct(self, result: int, members: tuple[int, ...]) -> _Type:
        """A struct's size as a block (its members' Offset, matrices' MatrixStride) and its
        locations as an input or output."""
        size: int | None = 0
        slots: tuple[Slot, ...] | None = ()
        for index, member_id in enumerate(members):
            member = self._type(member_id)
            decorations = self.member_decorations.get((result, index), {})
            member_size = member.size
            if member.op == OP_TYPE_MATRIX and MATRIX_STRIDE in decorations:
                lines = member.components if ROW_MAJOR in decorations else member.columns
                member_size = lines * decorations[MATRIX_STRIDE][0]
            if size is not None:
                offset = decorations.get(OFFSET, (size,))[0]
                size = None if member_size is None else max(size, offset + member_size)
            if slots is not None and member.slots is not None:
                slots = (
                    slots + member.slots
                    if len(slots) + len(member.slots) <= MAX_LOCATIONS
                    else None
                )
            else:
                slots = None
        return _Type(OP_TYPE_STRUCT, size=size, slots=slots, members=members)

    def _info(self, stage: str) -> ShaderInfo:
        mains = [entry for entry in self.entry_points if entry[2] == "main"]
        if not mains:
            self.fail("has no entry point named main")
        matching = [entry for entry in mains if STAGES.get(entry[0]) == stage]
        if not matching:
            found = STAGES.get(mains[0][0], f"execution model {mains[0][0]}")
            self.fail(f"is a {found} shader where a {stage} shader is expected")
        _, function, _, interface = matching[0]
        if function not in self.functions:
            self.fail("names a function it never defines as its entry point main")
        info = ShaderInfo()
        for variable in interface:
            storage, type_id = self.variables.get(variable, (None, 0))
            if storage in (INPUT, OUTPUT):
                slots = info.inputs if storage == INPUT else info.outputs
                self._locations(variable, self._type(type_id), type_id, slots)
        for variable, (storage, type_id) in self.variables.items():
            if storage in DESCRIPTOR_CLASSES:
                self._descriptor(variable, storage, self._type(type_id), type_id, info)
            elif storage == PUSH_CONSTANT:
                size = self._type(type_id).size
                if size is None:
                    self.fail("has a push-constant block whose size cannot be worked out")
                info.push_size = max(info.push_size, size)
        return info

    def _locations(self, variable: int, var_type: _Type, type_id: int, slots: dict) -> None:
        """The locations an input or output variable takes (built-ins take none)."""
        decorations = self.decorations.get(variable, {})
        members = range(len(var_type.members))
        if BUILT_IN in decorations or any(
            BUILT_IN in self.member_decorations.get((type_id, m), {}) for m in members
        ):
            return
        if COMPONENT in decorations or any(
            LOCATION in self.member_decorations.get((type_id, m), {}) for m in members
        ):
            self.fail(
                f"places %{variable} by member or component, which the engine does not follow"
            )
        if LOCATION not in decorations:
            self.fail(f"has an input or output (%{variable}) without a location")
        if var_type.slots is None:
            where = decorations[LOCATION][0]
            self.fail(
                f"has an input or output at location {where} of a type the engine cannot "
                "pass between stages (64-bit, boolean, or too large)"
            )
        for offset, slot in enumerate(var_type.slots):
            location = decorations[LOCATION][0] + offset
            if location in slots:
                self.fail(f"puts two inputs or outputs at location {location}")
            slots[location] = slot

    def _descriptor(
        self, variable: int, storage: int, var_type: _Type, type_id: int, info: ShaderInfo
    ) -> None:
        decorations = self.decorations.get(variable, {})
        if DESCRIPTOR_SET not in decorations or BINDING not in decorations:
            self.fail(f"declares a resource (%{variable}) without a set and binding")
        key = (decorations[DESCRIPTOR_SET][0], decorations[BINDING][0])
        where = f"set {key[0]} binding {key[1]}"
        count, spec_id = 1, None
        if var_type.op == OP_TYPE_RUNTIME_ARRAY:
            self.fail(f"{where} is an unsized array, which needs descriptor indexing")
        if var_type.op == OP_TYPE_ARRAY:
            if var_type.count is None:
                self.fail(f"{where} is an array whose length the engine cannot work out")
            count, spec_id, type_id = var_type.count, var_type.spec_id, var_type.element
            var_type = self._type(type_id)
        kind = self._kind(storage, var_type, type_id, where)
        writable = kind in ("storage buffer", "storage image", "storage texel buffer")
        if NON_WRITABLE in decorations or (
            var_type.members
            and all(
                NON_WRITABLE in self.member_decorations.get((type_id, m), {})
                for m in range(len(var_type.members))
            )
        ):
            writable = False
        if key in info.descriptors:
            self.fail(f"declares two resources at {where}")
        info.descriptors[key] = Descriptor(kind, count, spec_id, writable)

    def _kind(self, storage: int, var_type: _Type, type_id: int, where: str) -> str:
        """What kind of descriptor a resource variable takes."""
        if storage in (UNIFORM, STORAGE_BUFFER) and var_type.op == OP_TYPE_STRUCT:
            blocks = self.decorations.get(type_id, {})
            if storage == STORAGE_BUFFER or BUFFER_BLOCK in blocks:
                return "storage buffer"
            if BLOCK in blocks:
                return "uniform buffer"
        if storage == UNIFORM_CONSTANT:
            if var_type.op == OP_TYPE_SAMPLED_IMAGE:
                return "combined image sampler"
            if var_type.op == OP_TYPE_SAMPLER:
                return "sampler"
            if var_type.op == OP_TYPE_IMAGE:
                dim, sampled = var_type.image
                if dim == 6:  # SubpassData
                    return "input attachment"
                texel = " texel buffer" if dim == 5 else ""  # Dim Buffer
                if sampled == 1:
                    return f"uniform{texel}" if texel else "sampled image"
                return f"storage{texel}" if texel else "storage image"
        self.fail(f"{where} is a resource of a kind the engine does not bind")


def _times(slots: tuple[Slot, ...] | None, n: int | None) -> tuple[Slot, ...] | None:
    """`slots` repeated `n` times, or None when unknown or beyond MAX_LOCATIONS."""
    if slots is None or n is None or len(slots) * n > MAX_LOCATIONS:
        return None
    return slots * n

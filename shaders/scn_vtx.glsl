#version 450
// Scene vertex shader (book ch.10: scn_vtx.glsl). Position and texture coordinates in,
// camera matrices from set 0, the entity's model matrix from the push constants.
//
// Not in the book: compiled a second time with -DINSTANCED into scn_inst_vtx.spv, the vertex
// shader of the instanced path (the scale scenes). There the model matrix comes from set 3,
// a storage buffer of one matrix per visible instance, indexed by gl_InstanceIndex (each
// draw's firstInstance points at its batch's matrices).

layout(location = 0) in vec3 inPos;
layout(location = 1) in vec2 inTextCoords;

layout(location = 0) out vec2 outTextCoords;

layout(set = 0, binding = 0) uniform CamUniform {
    mat4 projMatrix;
    mat4 viewMatrix;
} camUniform;

#ifdef INSTANCED
layout(set = 3, binding = 0) readonly buffer InstanceMatrices {
    mat4 modelMatrices[];
} instances;
#define MODEL_MATRIX instances.modelMatrices[gl_InstanceIndex]
#else
layout(push_constant) uniform PushConstants {
    mat4 modelMatrix;
    uint materialIdx;
} push;
#define MODEL_MATRIX push.modelMatrix
#endif

void main()
{
    gl_Position = camUniform.projMatrix * camUniform.viewMatrix * MODEL_MATRIX * vec4(inPos, 1.0);
    outTextCoords = inTextCoords;
}

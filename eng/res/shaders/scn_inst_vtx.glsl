#version 450
// Instanced scene vertex shader (not in the book: the scale scenes). As scn_vtx.glsl, but the
// model matrix comes from set 3, a storage buffer of one matrix per visible instance, indexed
// by gl_InstanceIndex (each draw's firstInstance points at its batch's matrices).

layout(location = 0) in vec3 inPos;
layout(location = 1) in vec2 inTextCoords;

layout(location = 0) out vec2 outTextCoords;

layout(set = 0, binding = 0) uniform CamUniform {
    mat4 projMatrix;
    mat4 viewMatrix;
} camUniform;

layout(set = 3, binding = 0) readonly buffer InstanceMatrices {
    mat4 modelMatrices[];
} instances;

void main()
{
    mat4 model = instances.modelMatrices[gl_InstanceIndex];
    gl_Position = camUniform.projMatrix * camUniform.viewMatrix * model * vec4(inPos, 1.0);
    outTextCoords = inTextCoords;
}

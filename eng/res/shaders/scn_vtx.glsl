#version 450
// Scene vertex shader (book ch.10: scn_vtx.glsl). Position and texture coordinates in,
// camera matrices from set 0, the entity's model matrix from the push constants.

layout(location = 0) in vec3 inPos;
layout(location = 1) in vec2 inTextCoords;

layout(location = 0) out vec2 outTextCoords;

layout(set = 0, binding = 0) uniform CamUniform {
    mat4 projMatrix;
    mat4 viewMatrix;
} camUniform;

layout(push_constant) uniform PushConstants {
    mat4 modelMatrix;
    uint materialIdx;
} push;

void main()
{
    gl_Position = camUniform.projMatrix * camUniform.viewMatrix * push.modelMatrix * vec4(inPos, 1.0);
    outTextCoords = inTextCoords;
}

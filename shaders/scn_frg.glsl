#version 450
// Scene fragment shader (book ch.10: scn_frg.glsl). The material (set 1) gives either a colour
// or the index of a texture in the sampler array (set 2). The array's size is a
// specialization constant: the engine sets it to what the device can bind (at most 100).

layout(constant_id = 0) const uint MAX_TEXTURES = 100;

layout(location = 0) in vec2 inTextCoords;
layout(location = 0) out vec4 outFragColor;

struct Material {
    vec4 diffuseColor;
    uint hasTexture;
    uint textureIdx;
    uint padding[2];
};

layout(set = 1, binding = 0) readonly buffer MaterialUniform {
    Material materials[];
} matUniform;

layout(set = 2, binding = 0) uniform sampler2D textSampler[MAX_TEXTURES];

layout(push_constant) uniform PushConstants {
    mat4 modelMatrix;
    uint materialIdx;
} push;

void main()
{
    Material material = matUniform.materials[push.materialIdx];
    if (material.hasTexture == 1) {
        outFragColor = texture(textSampler[material.textureIdx], inTextCoords);
    } else {
        outFragColor = material.diffuseColor;
    }
}

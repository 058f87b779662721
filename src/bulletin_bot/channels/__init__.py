"""Chat front ends for the platforms Chinese offices use: WeCom, DingTalk, Feishu.

`chat` is the conversation every channel shares; each other module speaks one platform's protocol.
"""

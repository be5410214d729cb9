"""WeCom (WeChat Work): alerts only, through a group robot webhook
(https://developer.work.weixin.qq.com/document/path/91770), rendered as a markdown message."""
